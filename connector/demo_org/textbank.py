"""What Nuvola's reps write: feedback phrasings per theme, logistics chatter, names, in French and English.

Nuvola is a fictional vendor of "Nuvola Hub", a SaaS platform for operations planning (scheduling,
stock, field teams, reporting). Every theme has many phrasings per language, built from clause-level
fragments that the seeder combines, reorders and roughens (typos, abbreviations, dropped accents), so
that no theme is one template. All text here is original to this project.
"""

from __future__ import annotations

# Each theme: picklist loss reason it usually maps to, competitor hint, base weight, trend, concentration,
# and fr/en banks of cores (the complaint itself) and details (context, consequence, numbers).
THEMES: dict[str, dict] = {
    "seat_pricing": {
        "reason": "Price", "weight": 10.0, "trend": "steady", "case": False,
        "fr": {
            "core": [
                "le prix par utilisateur est trop élevé pour leurs saisonniers",
                "ils trouvent la licence par siège hors de prix dès qu'on dépasse 50 personnes",
                "tarif par utilisateur jugé excessif, ils ont beaucoup d'intérimaires",
                "le modèle de prix au siège ne passe pas chez eux",
                "trop cher au siège, surtout pour des utilisateurs occasionnels",
                "la DAF bloque sur le coût par licence",
                "ils veulent un forfait site plutôt qu'un prix par tête",
                "payer plein tarif pour des gens qui se connectent deux fois par mois, pour eux c'est non",
                "notre grille tarifaire par utilisateur les fait fuir",
                "le coût des licences lecture seule est le vrai blocage",
                "on est 30% au-dessus de leur budget à cause du nombre de sièges",
            ],
            "detail": [
                "ils ont 200 saisonniers l'été",
                "la moitié des users ne font que consulter le planning",
                "budget max 40k/an",
                "ils demandent une licence 'lecteur' gratuite",
                "même avec -15% ça ne passe pas",
                "le concurrent facture au site",
                "ils comparent au coût d'un tableur partagé",
            ],
        },
        "en": {
            "core": [
                "per-seat pricing is too expensive for their seasonal workforce",
                "they can't justify paying a full license for occasional users",
                "price per user is the blocker, too many part-timers",
                "the per-seat model kills the business case",
                "too expensive once you count every warehouse operator",
                "finance pushed back hard on the per-user cost",
                "they want site-based pricing instead of per head",
                "read-only users costing the same as planners is a no-go for them",
                "our seat pricing is way above what they budgeted",
                "licence cost per user came up again as the main objection",
            ],
            "detail": [
                "they have ~150 temps in peak season",
                "most users only view schedules",
                "budget capped at 35k a year",
                "asked for free viewer licences",
                "even with the 15% discount it doesn't fly",
                "competitor prices per site",
                "CFO compared it to a shared spreadsheet",
            ],
        },
    },
    "sso": {
        "reason": "Security/Compliance", "weight": 6.0, "trend": "fading", "case": True,
        "fr": {
            "core": [
                "pas de SSO avec leur Azure AD, bloquant pour la DSI",
                "la DSI exige une authentification SAML, on ne l'a pas",
                "ils ne veulent pas gérer des mots de passe en plus, il leur faut du SSO",
                "absence de connexion unique via Okta",
                "le RSSI a refusé faute de SSO et de provisioning automatique",
                "pas de SCIM pour créer/supprimer les comptes, ils trouvent ça risqué",
                "l'authentification par Microsoft Entra manque",
                "sans SSO c'est non, politique groupe",
            ],
            "detail": [
                "audit sécurité prévu en mars",
                "ils ont 12 applis déjà branchées sur Azure",
                "départs fréquents, ils veulent désactiver les comptes automatiquement",
                "c'était dans le cahier des charges",
                "ils attendent une date de dispo",
            ],
        },
        "en": {
            "core": [
                "no SSO with their Azure AD, IT won't sign off",
                "security requires SAML single sign-on and we don't have it",
                "they won't manage yet another set of passwords, SSO is mandatory",
                "missing Okta integration for login",
                "CISO rejected us because there is no SSO or SCIM provisioning",
                "no automatic user deprovisioning, seen as a security risk",
                "login via Microsoft Entra ID is missing",
                "group policy: no SSO, no purchase",
            ],
            "detail": [
                "security audit due next quarter",
                "all their other tools are behind Okta",
                "high staff turnover so offboarding matters",
                "it was a must-have in the RFP",
                "they asked for an ETA",
            ],
        },
    },
    "offline_mobile": {
        "reason": "Missing Feature", "weight": 7.0, "trend": "growing", "case": True,
        "fr": {
            "core": [
                "l'appli mobile ne marche pas hors connexion, leurs techniciens sont souvent en zone blanche",
                "pas de mode hors ligne sur mobile, c'est rédhibitoire pour le terrain",
                "les équipes terrain perdent leurs saisies quand le réseau coupe",
                "ils veulent pouvoir valider les interventions sans réseau",
                "l'app plante dès qu'on passe en sous-sol, pas de cache local",
                "le mode déconnecté manque pour les chantiers",
                "synchro mobile trop fragile, il faut du offline",
                "leurs chauffeurs n'ont pas de 4G sur la moitié des tournées",
            ],
            "detail": [
                "80 techniciens itinérants",
                "beaucoup de sites en montagne",
                "ils ont perdu une demi-journée de saisies la semaine dernière",
                "le concurrent le fait depuis 2 ans",
                "testé en entrepôt frigorifique, zéro réseau",
            ],
        },
        "en": {
            "core": [
                "the mobile app doesn't work offline and their field techs are often out of coverage",
                "no offline mode on mobile, dealbreaker for field teams",
                "field users lose their entries when the connection drops",
                "they need to sign off jobs without network",
                "app crashes in basements, no local cache at all",
                "offline support is missing for site work",
                "mobile sync is too flaky, they need offline",
                "drivers have no signal on half of the routes",
            ],
            "detail": [
                "60 mobile engineers",
                "lots of rural sites",
                "lost a morning of data entry last week",
                "competitor has had it for ages",
                "tested in a cold-storage warehouse, zero bars",
            ],
        },
    },
    "sap_integration": {
        "reason": "Integration", "weight": 8.0, "trend": "steady", "case": False,
        "fr": {
            "core": [
                "pas de connecteur SAP natif, ils ne veulent pas payer un intégrateur",
                "l'intégration avec leur ERP SAP est trop lourde",
                "il faut ressaisir les ordres de fabrication depuis SAP, inacceptable",
                "ils attendaient une synchro bidirectionnelle avec S/4HANA",
                "notre API ne couvre pas les flux SAP dont ils ont besoin",
                "l'interface avec SAP demande trop de développement spécifique",
                "sans lien direct avec l'ERP ils ne voient pas l'intérêt",
            ],
            "detail": [
                "devis intégrateur à 60k",
                "migration S/4 en cours",
                "3 mois de projet estimés",
                "ils ont déjà un middleware mais pas de compétences en interne",
                "demande de connecteur standard",
            ],
        },
        "en": {
            "core": [
                "no native SAP connector and they won't pay a systems integrator",
                "integration with their SAP ERP is too heavy",
                "production orders would have to be re-keyed from SAP, not acceptable",
                "they expected two-way sync with S/4HANA",
                "our API doesn't cover the SAP flows they need",
                "the SAP interface needs too much custom dev",
                "without a direct ERP link they don't see the value",
            ],
            "detail": [
                "SI quoted 55k for the integration",
                "S/4 migration in progress",
                "estimated at 3 months of work",
                "they have middleware but no in-house skills",
                "asking for an out-of-the-box connector",
            ],
        },
    },
    "data_residency": {
        "reason": "Security/Compliance", "weight": 4.0, "trend": "growing", "case": False,
        "concentrate": ("region", "DACH", 9.0, 0.12),
        "fr": {
            "core": [
                "ils exigent un hébergement des données en Allemagne",
                "le comité d'entreprise bloque tant que les données sortent d'Allemagne",
                "il leur faut une certification C5 et un datacenter allemand",
                "hébergement hors Allemagne refusé par le délégué à la protection des données",
                "question de souveraineté: cloud allemand obligatoire",
            ],
            "detail": [
                "le Betriebsrat doit valider",
                "exigence du groupe pour tous les outils RH",
                "ils ont cité le BSI",
                "pas négociable selon le DPO",
            ],
        },
        "en": {
            "core": [
                "they require data to be hosted in Germany",
                "works council blocks anything that stores data outside Germany",
                "they need BSI C5 attestation and a German data centre",
                "DPO refused hosting outside Germany",
                "sovereignty issue: German cloud is mandatory",
                "data residency in Frankfurt is a hard requirement",
                "the Betriebsrat wants hosting and support staff inside Germany",
            ],
            "detail": [
                "works council sign-off needed",
                "group policy for anything touching staff data",
                "they mentioned BSI C5 twice",
                "non negotiable per their DPO",
                "competitor offers a Frankfurt region",
            ],
        },
    },
    "basque_language": {
        "reason": "Missing Feature", "weight": 3.0, "trend": "steady", "case": False,
        "concentrate": ("basque", True, 14.0, 0.02),
        "fr": {
            "core": [
                "l'interface n'existe pas en basque, important pour leurs équipes",
                "ils veulent l'appli en euskara pour les agents",
                "pas de version basque, la mairie y tient",
                "les documents générés doivent être bilingues français/basque",
                "manque la langue basque dans l'application mobile",
                "interface uniquement fr/en/es, il leur faut l'euskara",
            ],
            "detail": [
                "politique linguistique de la collectivité",
                "la moitié des équipes travaille en euskara",
                "obligation pour les marchés publics locaux",
                "ils ont proposé de fournir les traductions",
            ],
        },
        "en": {
            "core": [
                "the interface is not available in Basque, matters a lot to their staff",
                "they want the app in Euskara for field agents",
                "no Basque version, the town council insists on it",
                "generated documents must be bilingual Spanish/Basque",
                "Basque language missing in the mobile app",
                "UI only in fr/en/es, they need Euskara",
            ],
            "detail": [
                "regional language policy",
                "half the team works in Euskara",
                "required in local public tenders",
                "they offered to supply translations",
            ],
        },
    },
    "reporting": {
        "reason": "Missing Feature", "weight": 9.0, "trend": "growing", "case": True,
        "fr": {
            "core": [
                "le reporting est trop rigide, ils veulent construire leurs propres tableaux de bord",
                "impossible d'exporter les rapports vers Excel proprement",
                "les dashboards ne permettent pas de filtrer par site",
                "ils passent leur temps à retraiter les exports CSV",
                "pas de rapports personnalisables, le directeur des opérations est déçu",
                "il manque un connecteur Power BI",
                "les indicateurs standards ne correspondent pas à leurs KPI",
                "les exports plantent au-delà de 10 000 lignes",
            ],
            "detail": [
                "le comité de direction veut un reporting mensuel",
                "ils utilisent Power BI partout",
                "un contrôleur de gestion y passe 2 jours par mois",
                "demande d'export planifié par mail",
                "besoin de consolider 14 sites",
            ],
        },
        "en": {
            "core": [
                "reporting is too rigid, they want to build their own dashboards",
                "can't export reports to Excel in a usable way",
                "dashboards can't be filtered by site",
                "they spend hours reworking the CSV exports",
                "no custom reports, ops director disappointed",
                "missing a Power BI connector",
                "standard metrics don't match their KPIs",
                "exports time out above 10k rows",
            ],
            "detail": [
                "board wants a monthly pack",
                "they run everything in Power BI",
                "a controller spends 2 days a month on it",
                "asked for scheduled email exports",
                "need to consolidate 14 sites",
            ],
        },
    },
    "support_onboarding": {
        "reason": "Support", "weight": 5.0, "trend": "fading", "case": True,
        "fr": {
            "core": [
                "le support met trop de temps à répondre",
                "l'onboarding a été beaucoup trop long",
                "ils n'ont pas eu d'interlocuteur dédié pendant la mise en place",
                "tickets sans réponse pendant une semaine",
                "la formation des utilisateurs était insuffisante",
                "ils trouvent le support uniquement en anglais pénible",
                "déploiement qui a traîné 4 mois au lieu de 6 semaines",
            ],
            "detail": [
                "ils ont escaladé deux fois",
                "le chef de projet a changé 3 fois",
                "retour très négatif du sponsor",
                "ils veulent un support en français",
            ],
        },
        "en": {
            "core": [
                "support takes too long to answer",
                "onboarding took way too long",
                "no dedicated contact during implementation",
                "tickets left unanswered for a week",
                "user training was not enough",
                "implementation dragged for 4 months instead of 6 weeks",
                "support hours don't cover their night shift",
            ],
            "detail": [
                "escalated twice already",
                "project manager changed three times",
                "sponsor very unhappy",
                "they asked for a named CSM",
            ],
        },
    },
    "api_webhooks": {
        "reason": "Integration", "weight": 2.5, "trend": "growing", "case": True,
        "fr": {
            "core": [
                "pas de webhooks, ils doivent interroger l'API en boucle",
                "les limites d'API sont trop basses pour leurs volumes",
                "l'API ne permet pas de créer des interventions en masse",
                "documentation API incomplète, leurs devs ont abandonné",
                "ils veulent être notifiés en temps réel des changements de planning",
            ],
            "detail": [
                "ils ont atteint le quota en une matinée",
                "50 000 appels par jour nécessaires",
                "intégration avec leur TMS maison",
            ],
        },
        "en": {
            "core": [
                "no webhooks, they have to poll the API constantly",
                "API rate limits are too low for their volumes",
                "API has no bulk endpoint for creating jobs",
                "API docs are incomplete, their devs gave up",
                "they want real-time notifications on schedule changes",
            ],
            "detail": [
                "hit the quota in one morning",
                "need ~50k calls a day",
                "integration with their in-house TMS",
            ],
        },
    },
    "accessibility": {
        "reason": "Security/Compliance", "weight": 2.0, "trend": "steady", "case": False,
        "concentrate": ("segment", "Public Sector", 7.0, 0.15),
        "fr": {
            "core": [
                "l'application n'est pas conforme RGAA, éliminatoire pour l'appel d'offres",
                "problèmes d'accessibilité: navigation clavier impossible",
                "pas de déclaration d'accessibilité, le marché public l'exige",
                "les lecteurs d'écran ne lisent pas le planning",
            ],
            "detail": [
                "critère noté sur 20 points",
                "un agent malvoyant dans l'équipe pilote",
                "audit RGAA demandé",
            ],
        },
        "en": {
            "core": [
                "the app is not WCAG 2.1 AA compliant, which rules us out of the tender",
                "accessibility issues: no keyboard navigation",
                "no accessibility statement, the public tender requires one",
                "screen readers can't read the schedule view",
            ],
            "detail": [
                "weighted 20% in the scoring",
                "a visually impaired user in the pilot team",
                "they asked for a VPAT",
            ],
        },
    },
    "competitor_bundle": {
        "reason": "Competitor", "weight": 6.0, "trend": "steady", "case": False, "competitor": "Brumeo",
        "fr": {
            "core": [
                "Brumeo leur propose la même chose incluse dans leur suite",
                "ils partent chez Brumeo, déjà présent chez eux pour la paie",
                "Brumeo a cassé les prix avec un bundle",
                "le concurrent est déjà intégré à leur SIRH",
                "choix du concurrent déjà en place dans le groupe",
            ],
            "detail": [
                "offert la première année",
                "décision imposée par le siège",
                "on n'a pas pu s'aligner",
            ],
        },
        "en": {
            "core": [
                "Brumeo offers the same thing bundled in their suite",
                "going with Brumeo, already their payroll vendor",
                "Brumeo undercut us with a bundle deal",
                "the competitor is already integrated with their HRIS",
                "group HQ standardised on the incumbent vendor",
            ],
            "detail": [
                "free for the first year",
                "decision made at HQ level",
                "we couldn't match it",
            ],
        },
    },
    "multi_entity": {
        "reason": "Missing Feature", "weight": 3.0, "trend": "growing", "case": False,
        "fr": {
            "core": [
                "pas de gestion multi-sociétés, ils ont 6 entités juridiques",
                "impossible de gérer plusieurs devises dans le même espace",
                "la facturation multi-entités manque",
                "ils veulent séparer les données par filiale avec une vue consolidée",
            ],
            "detail": [
                "filiales en Belgique et en Suisse",
                "besoin d'une vue groupe",
                "consolidation faite à la main aujourd'hui",
            ],
        },
        "en": {
            "core": [
                "no multi-entity support, they have 6 legal entities",
                "can't handle several currencies in one workspace",
                "multi-company invoicing is missing",
                "they need data separated per subsidiary with a consolidated view",
            ],
            "detail": [
                "subsidiaries in Belgium and Switzerland",
                "need a group-level view",
                "consolidation done by hand today",
            ],
        },
    },
    "ux_complexity": {
        "reason": "Other", "weight": 5.0, "trend": "steady", "case": True,
        "fr": {
            "core": [
                "l'interface est trop compliquée pour leurs chefs d'équipe",
                "trop de clics pour créer un planning simple",
                "les utilisateurs non techniques sont perdus",
                "ergonomie jugée datée et peu intuitive",
                "l'écran de planification est illisible sur tablette",
            ],
            "detail": [
                "retour de la démo utilisateurs",
                "population peu à l'aise avec l'informatique",
                "ils comparent à une appli grand public",
            ],
        },
        "en": {
            "core": [
                "the interface is too complicated for their team leads",
                "too many clicks to build a simple schedule",
                "non-technical users get lost",
                "UX feels dated and not intuitive",
                "planning screen unreadable on tablets",
            ],
            "detail": [
                "feedback from the user demo",
                "users not very tech savvy",
                "they compare it to consumer apps",
            ],
        },
    },
}

# How a feedback clause is introduced. "{c}" is the core, "{d}" a detail, "{p}" a contact's first name.
FRAMES = {
    "fr": [
        "{c}", "{c}.", "{c} ({d})", "{c} - {d}", "Retour client: {c}", "Feedback: {c}, {d}", "{p} nous dit que {c}",
        "Selon {p}, {c}", "Point bloquant: {c}", "{d}. {C}", "Ils insistent: {c}", "Objection principale: {c}",
        "{p}: « {c} »", "Encore le même sujet, {c}", "Verbatim de {p}: {c}", "Pb remonté: {c}; {d}",
        "Ce qui coince: {c}", "Motif: {c}",
    ],
    "en": [
        "{c}", "{c}.", "{c} ({d})", "{c} - {d}", "Customer feedback: {c}", "Feedback: {c}, {d}", "{p} told us {c}",
        "According to {p}, {c}", "Blocker: {c}", "{d}. {C}", "They keep coming back to it: {c}", "Main objection: {c}",
        "{p}: \"{c}\"", "Same topic again, {c}", "Quote from {p}: {c}", "Issue raised: {c}; {d}",
        "What's holding them back: {c}", "Reason: {c}",
    ],
}

LOGISTICS = {
    "fr": [
        "Rappeler {p} mardi", "RDV calé avec {p} le {day}", "Envoyé la proposition v{v}", "Relance par mail faite",
        "Démo faite avec {p} ({title})", "En attente du bon de commande", "Call de qualif ok, budget validé",
        "Prochaine étape: atelier technique le {day}", "{p} en congés jusqu'au {date}", "Devis v{v} transmis",
        "Mail de suivi envoyé à {p}", "Réunion décalée à la semaine prochaine", "Point avec les achats prévu {day}",
        "Préparer une démo sur leurs données", "Contrat envoyé pour signature", "Relancer fin de mois",
        "Pas joignable, message laissé", "Visio avec {p} et son équipe, {n} participants", "Comité de décision le {date}",
        "Bon échange, ils reviennent vers nous après {event}", "Appel découverte, organisation sur {n} sites",
        "Envoyé les références clients demandées", "Lancer le POC la semaine du {date}",
        "Ajouter {p} en copie des prochains échanges", "A faire: mettre à jour les montants",
        "Remise de {pct}% demandée, à valider avec {se}", "Montant révisé à {k}k€ après l'atelier",
        "{se} (avant-vente) présent pour la partie technique", "Ils veulent un pilote sur {n} sites avant de signer",
        "Envoyé le questionnaire sécurité rempli", "Juridique côté client relit les CGV, retour attendu {day}",
        "Organigramme: {p} décide, le {title} valide le budget", "Appel de 45 min, très bonne écoute",
        "Reprogrammer la démo, {p} malade", "Ticket d'entrée à {k}k€, ils trouvent ça cohérent",
    ],
    "en": [
        "Call {p} back on Tuesday", "Meeting booked with {p} on {day}", "Sent proposal v{v}", "Followed up by email",
        "Demo done with {p} ({title})", "Waiting for the PO", "Qualification call ok, budget confirmed",
        "Next step: technical workshop on {day}", "{p} out of office until {date}", "Quote v{v} sent",
        "Sent follow-up email to {p}", "Meeting pushed to next week", "Procurement call planned for {day}",
        "Prepare a demo on their own data", "Contract sent for signature", "Chase end of month",
        "No answer, left a voicemail", "Video call with {p} and team, {n} people", "Decision committee on {date}",
        "Good chat, they'll come back to us after {event}", "Discovery call, {n} sites in scope",
        "Sent the customer references they asked for", "Kick off the POC the week of {date}",
        "Loop {p} in on next emails", "TODO: update amounts in the opp",
        "Asked for {pct}% discount, need sign-off from {se}", "Amount revised to {k}k after the workshop",
        "{se} (presales) joined for the technical part", "They want a pilot on {n} sites before signing",
        "Sent back the completed security questionnaire", "Their legal is reviewing the T&Cs, answer expected {day}",
        "Org chart: {p} decides, the {title} owns the budget", "45 min call, very engaged",
        "Reschedule the demo, {p} off sick", "Entry price at {k}k, they find it reasonable",
    ],
}
COLLEAGUES = ["Marc (SE)", "Inès", "Tom from presales", "Yasmine", "Karl", "Ainhoa", "our VP Sales", "Legal"]
EVENTS = {"fr": ["le salon SITL", "leur séminaire", "les congés", "la clôture budgétaire", "le CODIR"],
          "en": ["the trade show", "their offsite", "the holidays", "budget close", "the board meeting"]}
DAYS = {"fr": ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "lundi prochain", "jeudi 14h"],
        "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "next Monday", "Thu 2pm"]}
TITLES = {"fr": ["DSI", "DAF", "directeur des opérations", "responsable planning", "chef de projet", "acheteur",
                 "RSSI", "responsable logistique"],
          "en": ["CIO", "CFO", "Head of Ops", "planning manager", "project lead", "procurement", "CISO",
                 "logistics manager"]}
SUBJECTS = {
    "Task": {"fr": ["Appel", "Relance", "Suivi", "Envoyer devis", "Rappel", "Email: suivi", "Call"],
             "en": ["Call", "Follow-up", "Email: follow up", "Send quote", "Check in", "Call back"]},
    "Event": {"fr": ["Démo", "Réunion", "Visite site", "Atelier", "Visio", "Point hebdo"],
              "en": ["Demo", "Meeting", "Site visit", "Workshop", "Video call", "Weekly sync"]},
}
CASE_SUBJECTS = {"fr": ["Problème de connexion", "Export impossible", "Question facturation", "Bug planning",
                        "Demande d'évolution", "Lenteurs", "Synchro mobile", "Accès utilisateur"],
                 "en": ["Login problem", "Export failing", "Billing question", "Scheduling bug", "Feature request",
                        "Slowness", "Mobile sync", "User access"]}
CASE_LOGISTICS = {
    "fr": ["Ticket transmis au niveau 2", "Client recontacté", "Contournement proposé", "Résolu après redémarrage",
           "En attente de retour client", "Capture d'écran demandée", "Reproduit en recette"],
    "en": ["Escalated to tier 2", "Customer called back", "Workaround provided", "Fixed after restart",
           "Waiting on customer", "Asked for a screenshot", "Reproduced in staging"],
}
NOTE_TITLES = {"fr": ["CR réunion", "Notes d'appel", "Compte rendu démo", "Notes atelier", "Debrief"],
               "en": ["Meeting notes", "Call notes", "Demo recap", "Workshop notes", "Debrief"]}
LOSS_SHORT = {
    "fr": ["Prix", "trop cher", "pas de budget", "projet reporté", "pas de décision", "parti chez la concurrence",
           "timing", "gel des investissements", "RAS", "voir notes"],
    "en": ["Price", "too expensive", "no budget", "project postponed", "no decision", "went with competitor",
           "timing", "spending freeze", "n/a", "see notes"],
}
NO_FEEDBACK_LOSS = {
    "fr": ["Projet gelé suite à réorganisation", "Le sponsor a quitté l'entreprise", "Budget réaffecté à un autre projet",
           "Pas de réponse depuis 2 mois, on clôture", "Rachat de la société, tout est suspendu",
           "Doublon, voir l'autre opportunité"],
    "en": ["Project frozen after a reorg", "Champion left the company", "Budget moved to another project",
           "No response for 2 months, closing", "Company acquired, everything on hold",
           "Duplicate, see the other opportunity"],
}

ABBREVIATIONS = {
    "fr": {"rendez-vous": "rdv", "client": "clt", "pour": "pr", "beaucoup": "bcp", "problème": "pb",
           "téléphone": "tel", "semaine": "sem.", "quelque chose": "qqch", "aujourd'hui": "auj.", "avec": "avc",
           "rapidement": "rapidt", "développement": "dev", "utilisateurs": "users", "directeur": "dir."},
    "en": {"because": "bc", "with": "w/", "without": "w/o", "customer": "cust", "meeting": "mtg", "about": "abt",
           "information": "info", "please": "pls", "next week": "next wk", "users": "usrs", "through": "thru",
           "management": "mgmt", "requirement": "req"},
}

FIRST_NAMES = {
    "fr": ["Camille", "Julien", "Sophie", "Thomas", "Claire", "Nicolas", "Émilie", "Antoine", "Léa", "Mathieu",
           "Isabelle", "Hugo", "Nathalie", "Pierre", "Aurélie", "Romain", "Céline", "Guillaume", "Manon", "Olivier"],
    "en": ["Oliver", "Emma", "James", "Charlotte", "Harry", "Sophie", "George", "Amelia", "Jack", "Grace", "Daniel",
           "Lucy", "Ben", "Hannah", "Sam", "Chloe"],
    "de": ["Lukas", "Anna", "Jonas", "Lena", "Felix", "Laura", "Maximilian", "Katrin", "Stefan", "Julia"],
    "nl": ["Daan", "Sanne", "Bram", "Lotte", "Ruben", "Eva", "Joris", "Femke"],
    "eu": ["Iker", "Ane", "Mikel", "Maialen", "Unai", "Nerea", "Aitor", "Leire", "Gorka", "Itziar"],
    "es": ["Javier", "Lucía", "Pablo", "Marta", "Diego", "Carmen"],
    "sv": ["Erik", "Sara", "Johan", "Elin", "Anders", "Maja"],
}
LAST_NAMES = {
    "fr": ["Martin", "Bernard", "Dubois", "Lefèvre", "Moreau", "Laurent", "Girard", "Roux", "Fournier", "Lambert",
           "Bonnet", "Mercier", "Blanc", "Garnier", "Chevalier", "Faure", "Rousseau", "Lemaire", "Perrin", "Masson"],
    "en": ["Smith", "Taylor", "Brown", "Wilson", "Evans", "Walker", "Wright", "Hughes", "Green", "Hall", "Clarke",
           "Turner", "Hill", "Cooper"],
    "de": ["Müller", "Schmidt", "Fischer", "Weber", "Wagner", "Becker", "Hoffmann", "Koch", "Richter", "Wolf"],
    "nl": ["de Vries", "Jansen", "Bakker", "Visser", "Peeters", "Maes", "Janssens", "Smit"],
    "eu": ["Etxeberria", "Agirre", "Goikoetxea", "Urrutia", "Zubizarreta", "Elizondo", "Arrieta", "Larrañaga",
           "Iriarte", "Olaizola"],
    "es": ["García", "Fernández", "López", "Martínez", "Sánchez", "Romero"],
    "sv": ["Lindqvist", "Johansson", "Nilsson", "Berg", "Holm", "Lund"],
}

REGION_PROFILE = {
    # region: (weight, fr share, name culture, country, cities)
    "France-Nord": (16, 0.92, "fr", "France", ["Lille", "Amiens", "Rouen", "Reims", "Arras", "Dunkerque"]),
    "France-Sud": (12, 0.92, "fr", "France", ["Marseille", "Toulouse", "Montpellier", "Nice", "Nîmes", "Perpignan"]),
    "Pays Basque": (7, 0.85, "eu", "France", ["Bayonne", "Biarritz", "Anglet", "Saint-Jean-de-Luz", "Hendaye",
                                              "Donostia", "Bilbo"]),
    "Ile-de-France": (18, 0.9, "fr", "France", ["Paris", "Nanterre", "Saint-Denis", "Créteil", "Versailles", "Massy"]),
    "Benelux": (10, 0.45, "nl", "Belgium", ["Bruxelles", "Liège", "Antwerpen", "Gent", "Rotterdam", "Luxembourg"]),
    "UK": (14, 0.03, "en", "United Kingdom", ["London", "Manchester", "Leeds", "Bristol", "Glasgow", "Birmingham"]),
    "DACH": (12, 0.08, "de", "Germany", ["München", "Hamburg", "Köln", "Zürich", "Wien", "Stuttgart"]),
    "Iberia": (6, 0.1, "es", "Spain", ["Madrid", "Barcelona", "Valencia", "Lisboa", "Bilbao"]),
    "Nordics": (5, 0.02, "sv", "Sweden", ["Stockholm", "Göteborg", "Oslo", "København", "Helsinki"]),
}
COMPANY_WORDS = {
    "fr": (["Transports", "Groupe", "Ateliers", "Laboratoires", "Entrepôts", "Services", "Maintenance", "Clinique",
            "Boulangeries", "Hôtels", "Distribution", "Menuiseries", "Logistique", "Agence"],
           ["Lemaire", "du Littoral", "Mercier", "des Alpes", "Garnier & Fils", "Vauban", "de l'Ouest", "Roussel",
            "Atlantique", "Carnot", "du Rhône", "Saint-Clair", "Delmas", "des Flandres", "Pasteur", "Montgolfier"],
           ["", " SA", " SAS", " SARL", ""]),
    "eu": (["Etxe", "Itsas", "Mendi", "Ur", "Lur", "Haize", "Garazi", "Bidasoa", "Ibai", "Larrun"],
           [" Logistika", " Eraikuntza", " Ostatuak", " Garraioak", " Zerbitzuak", " Elkartea", " Kooperatiba",
            " Industria"], ["", " SL", " SAS", ""]),
    "en": (["Northern", "Thames", "Brightwater", "Oakfield", "Harbour", "Pennine", "Kingsway", "Ashford", "Redbrook",
            "Crown", "Wessex", "Highland"],
           [" Logistics", " Facilities", " Care", " Engineering", " Foods", " Retail", " Services", " Housing",
            " Freight", " Hotels"], [" Ltd", " plc", "", " Group"]),
    "de": (["Nordwind", "Rhein", "Alpen", "Hanse", "Bergmann", "Sonnen", "Elbe", "Brenner", "Schwarzwald", "Isar"],
           [" Logistik", " Technik", " Bau", " Handel", " Kliniken", " Service", " Werke", " Spedition"],
           [" GmbH", " AG", " GmbH & Co. KG", ""]),
    "nl": (["Van Dijk", "Maas", "Schelde", "Polder", "Brabant", "Kempen", "Noordzee", "Ardennes", "Meuse", "Zeeland"],
           [" Logistiek", " Services", " Bouw", " Distributie", " Zorg", " Transport", " Group"], [" BV", " NV", " SA", ""]),
    "es": (["Ibérica", "Levante", "Cantábrica", "Sierra", "Ebro", "Tajo", "Atlántica", "Mediterránea"],
           [" Logística", " Servicios", " Construcciones", " Distribución", " Hoteles"], [" SL", " SA", ""]),
    "sv": (["Nord", "Fjord", "Björk", "Skog", "Havs", "Polar"],
           ["logistik", "service", "bygg", "transport", "handel"], [" AB", " AS", " Oy", ""]),
}
INDUSTRIES = ["Manufacturing", "Retail", "Financial Services", "Healthcare", "Public Sector", "Logistics",
              "Education", "Energy", "Media", "Technology", "Hospitality", "Agriculture"]
TEAMS = [
    # (Department, regions covered, culture of reps' names)
    ("Sales France Nord", ("France-Nord", "Ile-de-France"), "fr"),
    ("Sales France Sud", ("France-Sud", "Pays Basque"), "fr"),
    ("Sales Sud-Ouest & Iberia", ("Pays Basque", "Iberia"), "eu"),
    ("Sales IDF Enterprise", ("Ile-de-France",), "fr"),
    ("Sales UK & Nordics", ("UK", "Nordics"), "en"),
    ("Sales DACH", ("DACH",), "de"),
    ("Sales Benelux", ("Benelux",), "nl"),
]
