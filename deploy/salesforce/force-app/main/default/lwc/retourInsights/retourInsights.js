import { LightningElement, api, wire } from 'lwc';
import { getRelatedListRecords } from 'lightning/uiRelatedListApi';

// Both lookups (Opportunity__c and Account__c) use the child relationship name Retour_Insights.
const RELATED_LIST = 'Retour_Insights__r';
const FIELDS = [
    'Retour_Insight__c.Id',
    'Retour_Insight__c.Theme__c',
    'Retour_Insight__c.Decision_Status__c',
    'Retour_Insight__c.Insight__c',
    'Retour_Insight__c.Target_Release__c',
    'Retour_Insight__c.Theme_Url__c',
    'Retour_Insight__c.Status__c',
    'Retour_Insight__c.CreatedDate'
];
const STATUS_LABELS = {
    investigating: 'Investigating',
    planned: 'Planned',
    shipped: 'Shipped',
    wont_do: "Won't do"
};

export default class RetourInsights extends LightningElement {
    @api recordId;
    @api objectApiName;
    @api showWithdrawn = false;

    insights = [];
    error;

    get where() {
        return this.showWithdrawn ? undefined : '{ Status__c: { eq: "active" } }';
    }

    @wire(getRelatedListRecords, {
        parentRecordId: '$recordId',
        relatedListId: RELATED_LIST,
        fields: FIELDS,
        sortBy: ['Retour_Insight__c.CreatedDate'],
        where: '$where',
        pageSize: 20
    })
    wiredInsights({ data, error }) {
        if (data) {
            this.insights = data.records.map((record) => {
                const f = record.fields;
                const status = f.Decision_Status__c.value;
                return {
                    id: record.id,
                    theme: f.Theme__c.value,
                    status: STATUS_LABELS[status] || status,
                    insight: f.Insight__c.value,
                    target: f.Target_Release__c.value,
                    url: f.Theme_Url__c.value,
                    withdrawn: f.Status__c.value === 'withdrawn'
                };
            });
            this.error = undefined;
        } else if (error) {
            this.insights = [];
            this.error = error.body && error.body.message ? error.body.message : 'Retour insights could not be loaded.';
        }
    }

    get hasInsights() {
        return this.insights.length > 0;
    }
}
