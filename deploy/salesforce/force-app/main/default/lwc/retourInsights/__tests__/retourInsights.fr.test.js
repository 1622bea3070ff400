/*
 * The reps' card for a French-speaking rep (LANG "fr"): the card's words come from the French translation of the
 * Custom Labels, the insight and its title from the French fields, else the English ones.
 */
const { mockLanguage, record, answer, BILINGUAL, BEFORE_BILINGUAL, all, one, heading, text, clearBody, flush } =
    require('./support');

mockLanguage('fr');
const { createElement } = require('lwc');
const { getRelatedListRecords } = require('lightning/uiRelatedListApi');
const RetourInsights = require('c/retourInsights').default;

function mount() {
    const element = createElement('c-retour-insights', { is: RetourInsights });
    Object.assign(element, { recordId: '0017R0000000001QAA', objectApiName: 'Account' });
    document.body.appendChild(element);
    return element;
}

afterEach(() => {
    clearBody();
    jest.clearAllMocks();
});

describe('c-retour-insights for a French-speaking rep', () => {
    it('shows the card’s words and the insight in French', async () => {
        const element = mount();
        getRelatedListRecords.emit(answer([record('a0R1', BILINGUAL), record('a0R2', { ...BILINGUAL,
            Status__c: 'withdrawn', Decision_Status__c: 'wont_do' })]));
        await flush();

        expect(element.shadowRoot.querySelector('lightning-card').title).toBe('Messages Retour');
        const items = all(element, 'insight');
        expect(heading(items[0])).toBe('L’authentification unique · Prévu · Q3');
        expect(text(items[0])).toBe('Le SSO arrive au T3 : proposez la bêta.');
        expect(items[0].querySelector('[data-id="theme-link"]').textContent).toBe('Ouvrir le thème dans Retour');
        expect(heading(items[1])).toBe('L’authentification unique · Ne sera pas fait · Q3 · retiré');
    });

    it('falls back to the English insight and title, then to Insight__c on records pushed before both languages',
        async () => {
            const englishOnly = { ...BILINGUAL, Insight_Fr__c: null, Title_Fr__c: null };
            const element = mount();
            getRelatedListRecords.emit(answer([record('a0R1', englishOnly), record('a0R9', BEFORE_BILINGUAL)]));
            await flush();

            const items = all(element, 'insight');
            expect(text(items[0])).toBe('SSO ships in Q3: offer the beta.');
            expect(heading(items[0])).toBe('Single sign-on · Prévu · Q3');
            expect(text(items[1])).toBe('We are looking into exports.');
            expect(heading(items[1])).toBe('Exports · À l’étude');
        });

    it('says in French that there is no insight yet, or that they could not be loaded', async () => {
        const element = mount();
        getRelatedListRecords.emit(answer([]));
        await flush();
        expect(one(element, 'empty').textContent).toBe('Aucun message Retour pour cet enregistrement pour l’instant.');

        getRelatedListRecords.error({ message: 'Délai dépassé', errorCode: 'REQUEST_TIMEOUT' }, 504, 'Gateway Timeout');
        await flush();
        expect(one(element, 'error').textContent).toBe('Les messages Retour n’ont pas pu être chargés.');
        expect(one(element, 'error-detail').textContent).toBe('Délai dépassé');
        expect(one(element, 'empty')).toBeNull();
    });
});
