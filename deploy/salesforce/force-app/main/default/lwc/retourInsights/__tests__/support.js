/*
 * Shared by the card's tests: the words from the SFDX project, the mocks of the rep's language and labels, and
 * related-list answers shaped like the UI API's.
 *
 * A rep's language is fixed when the component's module is evaluated (@salesforce/i18n/lang is a constant), so
 * each language has its own test file (its own module registry): mockLanguage() runs before the component is
 * required.
 */
const fs = require('fs');
const path = require('path');

const DEFAULT = path.resolve(__dirname, '../../..');
const COMPONENT_JS = fs.readFileSync(path.join(DEFAULT, 'lwc/retourInsights/retourInsights.js'), 'utf8');
const IMPORTED_LABELS = [...COMPONENT_JS.matchAll(/@salesforce\/label\/c\.(\w+)/g)].map((m) => m[1]);

function xmlValues(file, entryTag, keyTag, valueTag) {
    const doc = new DOMParser().parseFromString(fs.readFileSync(path.join(DEFAULT, file), 'utf8'), 'text/xml');
    const out = {};
    for (const entry of doc.getElementsByTagName(entryTag)) {
        const key = entry.getElementsByTagName(keyTag)[0];
        const value = entry.getElementsByTagName(valueTag)[0];
        if (key && value) {
            out[key.textContent] = value.textContent;
        }
    }
    return out;
}

const WORDS = {
    en: xmlValues('labels/CustomLabels.labels-meta.xml', 'labels', 'fullName', 'value'),
    fr: xmlValues('translations/fr.translation-meta.xml', 'customLabels', 'name', 'label')
};

/** Mock the rep's language (e.g. "en-US", "fr-CA") and every label the component imports, in that language. */
function mockLanguage(lang) {
    const words = lang.toLowerCase().startsWith('fr') ? WORDS.fr : WORDS.en;
    jest.doMock('@salesforce/i18n/lang', () => ({ __esModule: true, default: lang }), { virtual: true });
    for (const name of IMPORTED_LABELS) {
        if (!words[name]) {
            throw new Error(`label ${name} has no text for ${lang} in the SFDX project`);
        }
        jest.doMock(`@salesforce/label/c.${name}`, () => ({ __esModule: true, default: words[name] }), {
            virtual: true
        });
    }
}

/** A record as the UI API returns it in a related-list answer: each field is { displayValue, value }. */
function record(id, values) {
    const fields = {};
    for (const [name, value] of Object.entries(values)) {
        fields[name] = { displayValue: null, value };
    }
    return {
        apiName: 'Retour_Insight__c',
        childRelationships: {},
        eTag: `etag-${id}`,
        fields,
        id,
        lastModifiedById: '0057R0000000001QAA',
        lastModifiedDate: '2026-11-18T09:00:00.000Z',
        recordTypeId: '012000000000000AAA',
        recordTypeInfo: null,
        systemModstamp: '2026-11-18T09:00:00.000Z',
        weakEtag: 1763456400000
    };
}

/** A Related List Record Collection holding `records`. */
function answer(records) {
    return {
        count: records.length,
        currentPageToken: '0',
        currentPageUrl: '/services/data/v59.0/ui-api/related-list-records/0067R0000000001QAA/Retour_Insights__r',
        fields: ['Retour_Insight__c.Id'],
        listInfoETag: 'etag',
        listReference: { inContextOfRecordId: '0067R0000000001QAA', relatedListId: 'Retour_Insights__r' },
        nextPageToken: null,
        nextPageUrl: null,
        optionalFields: [],
        pageSize: 20,
        previousPageToken: null,
        previousPageUrl: null,
        records,
        sortBy: ['Retour_Insight__c.CreatedDate']
    };
}

/** An insight Retour pushed from a decision written in both languages. */
const BILINGUAL = Object.freeze({
    Id: 'a0R7R0000000001UAA',
    Theme__c: 'Single sign-on',
    Decision_Status__c: 'planned',
    Insight__c: 'SSO ships in Q3: offer the beta.',
    Insight_En__c: 'SSO ships in Q3: offer the beta.',
    Insight_Fr__c: 'Le SSO arrive au T3 : proposez la bêta.',
    Title_En__c: 'Single sign-on',
    Title_Fr__c: 'L’authentification unique',
    Target_Release__c: 'Q3',
    Theme_Url__c: 'https://retour.example.com/themes/3',
    Status__c: 'active',
    CreatedDate: '2026-11-18T09:00:00.000Z'
});

/** An insight pushed before the card was bilingual: only Insight__c and Theme__c, in one language. */
const BEFORE_BILINGUAL = Object.freeze({
    Id: 'a0R7R0000000009UAA',
    Theme__c: 'Exports',
    Decision_Status__c: 'investigating',
    Insight__c: 'We are looking into exports.',
    Status__c: 'active'
});

const all = (element, id) => [...element.shadowRoot.querySelectorAll(`[data-id="${id}"]`)];
const one = (element, id) => element.shadowRoot.querySelector(`[data-id="${id}"]`);
const squash = (text) => text.replace(/\s+/g, ' ').trim();
const heading = (item) => squash(item.querySelector('[data-id="heading"]').textContent);
const text = (item) => item.querySelector('[data-id="text"]').textContent;

function clearBody() {
    while (document.body.firstChild) {
        document.body.removeChild(document.body.firstChild);
    }
}

/** Wait for the re-render after a wire emits (the same idiom as sfdx-lwc-jest's docs). */
const flush = () => Promise.resolve();

module.exports = {
    WORDS, IMPORTED_LABELS, mockLanguage, record, answer, BILINGUAL, BEFORE_BILINGUAL, all, one, heading, text,
    squash, clearBody, flush
};
