/*
 * The reps' card for an English-speaking rep: rendering, the wire's parameters, escaping, the empty and error
 * states, and records that lack fields. The related-list wire is sfdx-lwc-jest's LDS test adapter
 * (lightning/uiRelatedListApi); the rep's language and the labels are mocked by support.mockLanguage().
 */
const {
    mockLanguage, record, answer, BILINGUAL, BEFORE_BILINGUAL, all, one, heading, text, clearBody, flush
} = require('./support');

mockLanguage('en-US');
const { createElement } = require('lwc');
const { getRelatedListRecords } = require('lightning/uiRelatedListApi');
const RetourInsights = require('c/retourInsights').default;

function mount(props = {}) {
    const element = createElement('c-retour-insights', { is: RetourInsights });
    Object.assign(element, { recordId: '0067R0000000001QAA', objectApiName: 'Opportunity', ...props });
    document.body.appendChild(element);
    return element;
}

afterEach(() => {
    clearBody();
    jest.clearAllMocks();
});

describe('c-retour-insights for an English-speaking rep', () => {
    it('lists each insight with its title, status, target and a link back to the theme', async () => {
        const element = mount();
        getRelatedListRecords.emit(answer([record('a0R1', BILINGUAL), record('a0R2', { ...BILINGUAL,
            Decision_Status__c: 'shipped', Target_Release__c: null, Theme_Url__c: null, Status__c: 'withdrawn' })]));
        await flush();

        expect(element.shadowRoot.querySelector('lightning-card').title).toBe('Retour insights');
        const items = all(element, 'insight');
        expect(items).toHaveLength(2);
        expect(heading(items[0])).toBe('Single sign-on · Planned · Q3');
        expect(text(items[0])).toBe('SSO ships in Q3: offer the beta.');
        const link = items[0].querySelector('[data-id="theme-link"]');
        expect(link.href).toBe('https://retour.example.com/themes/3');
        expect(link.textContent).toBe('Open the theme in Retour');
        expect(link.rel).toBe('noopener noreferrer');
        expect(heading(items[1])).toBe('Single sign-on · Shipped · withdrawn');
        expect(items[1].querySelector('[data-id="theme-link"]')).toBeNull();
        expect(one(element, 'empty')).toBeNull();
    });

    it('asks for the active insights of this record, and for withdrawn ones too when the page says so', async () => {
        mount();
        await flush();
        const config = getRelatedListRecords.getLastConfig();
        expect(config.parentRecordId).toBe('0067R0000000001QAA');
        expect(config.relatedListId).toBe('Retour_Insights__r');
        expect(config.where).toBe('{ Status__c: { eq: "active" } }');
        expect(config.optionalFields).toEqual(expect.arrayContaining(['Retour_Insight__c.Insight_En__c',
            'Retour_Insight__c.Insight_Fr__c', 'Retour_Insight__c.Title_En__c', 'Retour_Insight__c.Title_Fr__c']));
        clearBody();

        mount({ showWithdrawn: true });
        await flush();
        expect(getRelatedListRecords.getLastConfig().where).toBeUndefined();
    });

    it('reads the French insight when the decision has no English one, and Insight__c on older records', async () => {
        const frenchOnly = { ...BILINGUAL, Insight__c: 'Le SSO arrive au T3 : proposez la bêta.', Insight_En__c: '',
            Title_En__c: null, Theme__c: 'L’authentification unique' };
        const element = mount();
        getRelatedListRecords.emit(answer([record('a0R1', frenchOnly), record('a0R9', BEFORE_BILINGUAL)]));
        await flush();

        const items = all(element, 'insight');
        expect(text(items[0])).toBe('Le SSO arrive au T3 : proposez la bêta.');
        expect(heading(items[0])).toBe('L’authentification unique · Planned · Q3');
        expect(text(items[1])).toBe('We are looking into exports.');
        expect(heading(items[1])).toBe('Exports · Investigating');
    });

    it('shows hostile insight text as text, never as HTML, and never links to a non-web URL', async () => {
        window.pwned = false;
        const hostile = '<img src=x onerror="window.pwned=true"><script>window.pwned=true</script><b>bold</b>';
        const element = mount();
        // eslint-disable-next-line no-script-url -- the hostile URL the card must refuse to link to
        const scriptUrl = 'javascript:window.pwned=true';
        getRelatedListRecords.emit(answer([record('a0R1', { ...BILINGUAL, Insight_En__c: hostile,
            Title_En__c: '<i>SSO</i>', Target_Release__c: '<u>Q3</u>', Theme_Url__c: scriptUrl })]));
        await flush();

        const item = all(element, 'insight')[0];
        const paragraph = item.querySelector('[data-id="text"]');
        expect(paragraph.textContent).toBe(hostile);
        expect(paragraph.children).toHaveLength(0);
        // eslint-disable-next-line @lwc/lwc/no-inner-html -- read, never written: the markup holds escaped text
        expect(paragraph.innerHTML).toContain('&lt;img');
        expect(heading(item)).toBe('<i>SSO</i> · Planned · <u>Q3</u>');
        expect(element.shadowRoot.querySelectorAll('img, script, b, i, u')).toHaveLength(0);
        expect(item.querySelector('[data-id="theme-link"]')).toBeNull();
        expect(window.pwned).toBe(false);
    });

    it('says the record has no insight yet when the list is empty', async () => {
        const element = mount();
        getRelatedListRecords.emit(answer([]));
        await flush();
        expect(one(element, 'empty').textContent).toBe('No Retour insight for this record yet.');
        expect(all(element, 'insight')).toHaveLength(0);
        expect(one(element, 'error')).toBeNull();
    });

    it('says the insights could not be loaded when the wire fails, with what Salesforce said, as text', async () => {
        const element = mount();
        getRelatedListRecords.emit(answer([record('a0R1', BILINGUAL)]));
        await flush();
        getRelatedListRecords.error([{ errorCode: 'INSUFFICIENT_ACCESS',
            message: 'You don’t have access to <b>this</b> record.' }], 403, 'Forbidden');
        await flush();

        expect(one(element, 'error').textContent).toBe('Retour insights could not be loaded.');
        expect(one(element, 'error-detail').textContent).toBe('You don’t have access to <b>this</b> record.');
        expect(element.shadowRoot.querySelectorAll('b')).toHaveLength(0);
        expect(all(element, 'insight')).toHaveLength(0);
        expect(one(element, 'empty')).toBeNull();
    });

    it('says the insights could not be loaded, without a detail line, when the error has no message', async () => {
        const element = mount();
        getRelatedListRecords.error([{ errorCode: 'UNKNOWN_EXCEPTION' }], 500, 'Server Error');
        await flush();
        expect(one(element, 'error').textContent).toBe('Retour insights could not be loaded.');
        expect(one(element, 'error-detail')).toBeNull();
    });

    it('renders records that lack fields (left out by field-level security or an older deploy)', async () => {
        const element = mount();
        const noStatus = record('a0R1', { Id: 'a0R1', Insight_En__c: 'SSO ships in Q3.' });
        const bare = { ...record('a0R2', {}), fields: undefined };
        const nullValues = record('a0R3', { Decision_Status__c: null, Insight__c: null, Theme__c: 'Exports',
            Status__c: null });
        getRelatedListRecords.emit(answer([noStatus, bare, nullValues]));
        await flush();

        const items = all(element, 'insight');
        expect(items).toHaveLength(3);
        expect(text(items[0])).toBe('SSO ships in Q3.');
        expect(heading(items[0])).toBe('');
        expect(text(items[1])).toBe('');
        expect(heading(items[2])).toBe('Exports');
        expect(one(element, 'error')).toBeNull();
    });
});
