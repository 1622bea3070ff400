import { LightningElement, api, wire } from 'lwc';
import { getRelatedListRecords } from 'lightning/uiRelatedListApi';
import LANG from '@salesforce/i18n/lang';
import TITLE from '@salesforce/label/c.Retour_Insights_Title';
import EMPTY from '@salesforce/label/c.Retour_Insights_Empty';
import LOAD_ERROR from '@salesforce/label/c.Retour_Insights_Load_Error';
import WITHDRAWN from '@salesforce/label/c.Retour_Insights_Withdrawn';
import OPEN_THEME from '@salesforce/label/c.Retour_Insights_Open_Theme';
import INVESTIGATING from '@salesforce/label/c.Retour_Insights_Status_Investigating';
import PLANNED from '@salesforce/label/c.Retour_Insights_Status_Planned';
import SHIPPED from '@salesforce/label/c.Retour_Insights_Status_Shipped';
import WONT_DO from '@salesforce/label/c.Retour_Insights_Status_Wont_Do';

// Both lookups (Opportunity__c and Account__c) use the child relationship name Retour_Insights.
const RELATED_LIST = 'Retour_Insights__r';
// Optional: a field the rep cannot read (or that an older deploy lacks) is left out of the answer instead of
// failing the whole card; every field is read through value(), which tolerates its absence.
const OPTIONAL_FIELDS = [
    'Retour_Insight__c.Theme__c',
    'Retour_Insight__c.Decision_Status__c',
    'Retour_Insight__c.Insight__c',
    'Retour_Insight__c.Insight_En__c',
    'Retour_Insight__c.Insight_Fr__c',
    'Retour_Insight__c.Title_En__c',
    'Retour_Insight__c.Title_Fr__c',
    'Retour_Insight__c.Target_Release__c',
    'Retour_Insight__c.Theme_Url__c',
    'Retour_Insight__c.Status__c',
    'Retour_Insight__c.CreatedDate'
];
const STATUS_LABELS = {
    investigating: INVESTIGATING,
    planned: PLANNED,
    shipped: SHIPPED,
    wont_do: WONT_DO
};

/** The field's value, or null when the record (or the field) is absent from the answer. */
function value(fields, name) {
    const field = fields ? fields[name] : undefined;
    return field && field.value !== undefined && field.value !== null ? field.value : null;
}

/** "En" / "Fr" in the order to try: the rep's language first (LANG is e.g. "fr", "fr-CA", "en-US"). */
function languageOrder(lang) {
    return String(lang || '').toLowerCase().startsWith('fr') ? ['Fr', 'En'] : ['En', 'Fr'];
}

/** The insight and its title in the rep's language, else the other one, else the record's single language. */
function localized(fields, order) {
    for (const suffix of order) {
        const insight = value(fields, `Insight_${suffix}__c`);
        if (insight) {
            return { insight, title: value(fields, `Title_${suffix}__c`) || value(fields, 'Theme__c') };
        }
    }
    return { insight: value(fields, 'Insight__c'), title: value(fields, 'Theme__c') };
}

/** Only http(s) links reach the href: the URL comes from the org and could hold anything. */
function safeUrl(url) {
    return typeof url === 'string' && /^https?:\/\//i.test(url) ? url : null;
}

/** What the wire's error says, for the detail line under the card's own message. */
function errorDetail(error) {
    const body = error && error.body;
    const messages = (Array.isArray(body) ? body : [body]).map((b) => (b && b.message ? b.message : null));
    return messages.filter((m) => m).join(' ') || null;
}

export default class RetourInsights extends LightningElement {
    @api recordId;
    @api objectApiName;
    @api showWithdrawn = false;

    labels = { title: TITLE, empty: EMPTY, loadError: LOAD_ERROR, withdrawn: WITHDRAWN, openTheme: OPEN_THEME };
    insights = [];
    error;
    errorDetail;

    get where() {
        return this.showWithdrawn ? undefined : '{ Status__c: { eq: "active" } }';
    }

    @wire(getRelatedListRecords, {
        parentRecordId: '$recordId',
        relatedListId: RELATED_LIST,
        fields: ['Retour_Insight__c.Id'],
        optionalFields: OPTIONAL_FIELDS,
        sortBy: ['Retour_Insight__c.CreatedDate'],
        where: '$where',
        pageSize: 20
    })
    wiredInsights({ data, error }) {
        if (data) {
            const order = languageOrder(LANG);
            this.insights = (data.records || []).map((record, index) => {
                const fields = record ? record.fields : undefined;
                const status = value(fields, 'Decision_Status__c');
                const { insight, title } = localized(fields, order);
                return {
                    id: (record && record.id) || `row-${index}`,
                    title,
                    status: STATUS_LABELS[status] || status,
                    insight,
                    target: value(fields, 'Target_Release__c'),
                    url: safeUrl(value(fields, 'Theme_Url__c')),
                    withdrawn: value(fields, 'Status__c') === 'withdrawn'
                };
            });
            this.error = undefined;
            this.errorDetail = undefined;
        } else if (error) {
            this.insights = [];
            this.error = LOAD_ERROR;
            this.errorDetail = errorDetail(error);
        }
    }

    get hasInsights() {
        return this.insights.length > 0;
    }
}
