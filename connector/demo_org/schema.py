"""The demo org's objects and fields, as Salesforce's describe reports them.

One table drives everything: the SQLite columns, SOQL field resolution and type checks, write
validation and the ``describe`` payloads. Field names keep Salesforce's canonical casing; SOQL
resolves them case-insensitively, like Salesforce.
"""

from __future__ import annotations

from dataclasses import dataclass, field

LONG_TEXT_THRESHOLD = 255  # a textarea longer than this is "long text": not filterable, halves page size

REGIONS = ("France-Nord", "France-Sud", "Pays Basque", "Ile-de-France", "Benelux", "UK", "DACH", "Iberia", "Nordics")
SEGMENTS = ("SMB", "Mid-Market", "Enterprise", "Public Sector")
LOSS_REASONS = ("Price", "Missing Feature", "Competitor", "Timing", "No Decision", "Integration", "Support",
                "Security/Compliance", "Budget Cut", "Other")
COMPETITORS = ("Stratocloud", "Brumeo", "Vantix", "Orbital CRM", "Kestrel Suite", "In-house build", "None")
STAGES = ("Prospecting", "Qualification", "Needs Analysis", "Proposal/Price Quote", "Negotiation/Review",
          "Closed Won", "Closed Lost")
CLOSED_STAGES = {"Closed Won": True, "Closed Lost": False}  # stage -> IsWon
# The values' French labels (Translation Workbench): records hold the API value, a French user reads its label.
# Stages: Salesforce's own French labels of its standard stages.
STAGES_FR = {"Prospecting": "Prospection", "Qualification": "Qualification", "Needs Analysis": "Analyse des besoins",
             "Value Proposition": "Proposition de valeur", "Id. Decision Makers": "Identification des décideurs",
             "Perception Analysis": "Analyse de la perception", "Proposal/Price Quote": "Proposition/Devis",
             "Negotiation/Review": "Négociation/Révision", "Closed Won": "Fermée/Gagnée",
             "Closed Lost": "Fermée/Perdue"}
LOSS_REASONS_FR = {"Price": "Prix", "Missing Feature": "Fonctionnalité manquante", "Competitor": "Concurrent",
                   "Timing": "Calendrier", "No Decision": "Pas de décision", "Integration": "Intégration",
                   "Support": "Support", "Security/Compliance": "Sécurité/Conformité", "Budget Cut": "Budget supprimé",
                   "Other": "Autre"}


@dataclass(frozen=True)
class Field:
    name: str
    type: str  # id string picklist textarea boolean currency double int date datetime reference email url base64
    length: int = 0
    label: str = ""  # in the org's language, English
    label_fr: str = ""  # its translation (Translation Workbench): a describe asked in French answers it, else ``label``
    # Its picklist values' French labels, (value, label) pairs: a describe asked in French answers them, else the value
    picklist_fr: tuple[tuple[str, str], ...] = ()
    nillable: bool = True
    createable: bool = True
    updateable: bool = True
    required: bool = False  # required on create (REQUIRED_FIELD_MISSING)
    picklist: tuple[str, ...] = ()
    restricted: bool = False
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    external_id: bool = False
    unique: bool = False
    default: object = None

    @property
    def custom(self) -> bool:
        return self.name.endswith("__c")

    @property
    def long_text(self) -> bool:
        return self.type == "textarea" and self.length > LONG_TEXT_THRESHOLD

    @property
    def filterable(self) -> bool:
        return not self.long_text and self.type != "base64"

    @property
    def soap_type(self) -> str:
        return {"id": "tns:ID", "reference": "tns:ID", "boolean": "xsd:boolean", "currency": "xsd:double",
                "double": "xsd:double", "int": "xsd:int", "date": "xsd:date", "datetime": "xsd:dateTime",
                "base64": "xsd:base64Binary"}.get(self.type, "xsd:string")


def _sys(audit_modified: bool = True, modstamp: bool = True) -> list[Field]:
    ro = dict(createable=False, updateable=False)
    out = [Field("IsDeleted", "boolean", label="Deleted", nillable=False, **ro),
           Field("CreatedDate", "datetime", label="Created Date", nillable=False, **ro),
           Field("CreatedById", "reference", 18, label="Created By ID", nillable=False, reference_to=("User",),
                 relationship_name="CreatedBy", **ro)]
    if audit_modified:
        out.append(Field("LastModifiedDate", "datetime", label="Last Modified Date", nillable=False, **ro))
    if modstamp:
        out.append(Field("SystemModstamp", "datetime", label="System Modstamp", nillable=False, **ro))
    return out


def _id() -> Field:
    return Field("Id", "id", 18, label="Record ID", nillable=False, createable=False, updateable=False)


def _ref(name: str, target: str, *, required: bool = False, rel: str | None = None, label: str = "") -> Field:
    rel = rel if rel is not None else (name[:-2] if name.endswith("Id") else name[:-3] + "__r")
    return Field(name, "reference", 18, label=label or name, reference_to=(target,), relationship_name=rel,
                 required=required, nillable=not required)


def _pick(name: str, values: tuple[str, ...], *, restricted: bool = True, required: bool = False, label: str = "",
          label_fr: str = "", values_fr: dict[str, str] | None = None, default: object = None) -> Field:
    return Field(name, "picklist", 255, label=label or name.replace("__c", "").replace("_", " "), label_fr=label_fr,
                 picklist=values, picklist_fr=tuple((v, values_fr[v]) for v in values if v in (values_fr or {})),
                 restricted=restricted, required=required, nillable=not required, default=default)


@dataclass(frozen=True)
class SObject:
    name: str
    key_prefix: str
    label: str
    fields: tuple[Field, ...]
    custom: bool = False
    by_lower: dict[str, Field] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self.by_lower.update({f.name.lower(): f for f in self.fields})

    def get(self, name: str) -> Field | None:
        return self.by_lower.get(name.lower())

    @property
    def has_modstamp(self) -> bool:
        return "systemmodstamp" in self.by_lower

    @property
    def has_last_modified(self) -> bool:
        return "lastmodifieddate" in self.by_lower

    @property
    def label_plural(self) -> str:
        return self.label + ("es" if self.label.endswith("s") else "s")


OBJECTS: dict[str, SObject] = {}


def _define(name: str, prefix: str, label: str, fields: list[Field], custom: bool = False) -> None:
    OBJECTS[name] = SObject(name, prefix, label, tuple(fields), custom=custom)


_define("User", "005", "User", [
    _id(), Field("Name", "string", 121, label="Full Name", createable=False, updateable=False),
    Field("FirstName", "string", 40), Field("LastName", "string", 80, required=True, nillable=False),
    Field("Email", "email", 80, required=True, nillable=False), Field("Username", "string", 80, required=True, nillable=False),
    Field("IsActive", "boolean", label="Active", nillable=False, default=True),
    Field("Department", "string", 80), Field("Title", "string", 80),
    _ref("ManagerId", "User", label="Manager ID"), Field("LanguageLocaleKey", "string", 40, default="en_US"),
    *_sys(),
])
_define("Account", "001", "Account", [
    _id(), Field("Name", "string", 255, label="Account Name", required=True, nillable=False),
    _ref("OwnerId", "User", label="Owner ID"), Field("Industry", "picklist", 255, picklist=(
        "Manufacturing", "Retail", "Financial Services", "Healthcare", "Public Sector", "Logistics", "Education",
        "Energy", "Media", "Technology", "Hospitality", "Agriculture"), restricted=False),
    Field("BillingCountry", "string", 80), Field("BillingCity", "string", 40),
    Field("NumberOfEmployees", "int", 8, label="Employees"),
    _pick("Region__c", REGIONS, label="Region", label_fr="Région"), _pick("Segment__c", SEGMENTS, label="Segment"),
    Field("Speaks_Basque__c", "boolean", label="Speaks Basque", label_fr="Parle basque", nillable=False,
          default=False),
    *_sys(),
])
_define("Opportunity", "006", "Opportunity", [
    _id(), Field("Name", "string", 120, label="Name", required=True, nillable=False),
    _ref("AccountId", "Account", label="Account ID"), _ref("OwnerId", "User", label="Owner ID"),
    _pick("StageName", STAGES, required=True, label="Stage", label_fr="Étape", values_fr=STAGES_FR),
    Field("IsClosed", "boolean", label="Closed", nillable=False, createable=False, updateable=False),
    Field("IsWon", "boolean", label="Won", nillable=False, createable=False, updateable=False),
    Field("Amount", "currency", 18, label="Amount"),
    _pick("CurrencyIsoCode", ("EUR", "GBP", "USD", "CHF"), label="Opportunity Currency", default="EUR"),
    Field("CloseDate", "date", label="Close Date", required=True, nillable=False),
    Field("Type", "picklist", 255, picklist=("New Business", "Expansion", "Renewal"), restricted=False),
    Field("LeadSource", "picklist", 255, picklist=("Web", "Partner", "Event", "Outbound", "Referral"), restricted=False),
    Field("NextStep", "string", 255, label="Next Step"),
    Field("Description", "textarea", 32000, label="Description"),
    _pick("Loss_Reason__c", LOSS_REASONS, label="Loss Reason", label_fr="Motif de perte", values_fr=LOSS_REASONS_FR),
    Field("Loss_Reason_Detail__c", "textarea", 32000, label="Loss Reason Detail", label_fr="Détail du motif de perte"),
    _pick("Competitor__c", COMPETITORS, label="Competitor", label_fr="Concurrent"),
    _pick("Region__c", REGIONS, label="Region", label_fr="Région"), _pick("Segment__c", SEGMENTS, label="Segment"),
    Field("Speaks_Basque__c", "boolean", label="Speaks Basque", label_fr="Parle basque", nillable=False,
          default=False),
    *_sys(),
])
_define("Contact", "003", "Contact", [
    _id(), Field("Name", "string", 121, label="Full Name", createable=False, updateable=False),
    Field("FirstName", "string", 40), Field("LastName", "string", 80, required=True, nillable=False),
    _ref("AccountId", "Account", label="Account ID"), Field("Email", "email", 80), Field("Title", "string", 128),
    _ref("OwnerId", "User", label="Owner ID"), *_sys(),
])
_ACTIVITY_COMMON = [
    Field("Subject", "string", 255, label="Subject"), Field("Description", "textarea", 32000, label="Comments"),
    Field("WhatId", "reference", 18, label="Related To ID", reference_to=("Opportunity", "Account", "Case")),
    _ref("WhoId", "Contact", label="Name ID", rel=""),
    Field("AccountId", "reference", 18, label="Account ID", reference_to=("Account",), relationship_name="Account",
          createable=False, updateable=False),
    _ref("OwnerId", "User", label="Assigned To ID"),
    Field("ActivityDate", "date", label="Due Date Only"),
]
_define("Task", "00T", "Task", [
    _id(), *_ACTIVITY_COMMON,
    _pick("Status", ("Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred"), required=True,
          label="Status", default="Not Started"),
    _pick("Priority", ("High", "Normal", "Low"), required=True, label="Priority", default="Normal"),
    Field("IsClosed", "boolean", label="Closed", nillable=False, createable=False, updateable=False),
    _pick("TaskSubtype", ("Task", "Email", "Call", "ListEmail", "Cadence"), label="Task Subtype", default="Task"),
    Field("Retour_Key__c", "string", 80, label="Retour Key", external_id=True, unique=True),
    *_sys(),
])
_define("Event", "00U", "Event", [
    _id(), *_ACTIVITY_COMMON,
    Field("StartDateTime", "datetime", label="Start Date Time"), Field("EndDateTime", "datetime", label="End Date Time"),
    Field("DurationInMinutes", "int", 8, label="Duration"),
    *_sys(),
])
_define("Case", "500", "Case", [
    _id(), Field("CaseNumber", "string", 30, label="Case Number", createable=False, updateable=False),
    _ref("AccountId", "Account", label="Account ID"), _ref("OwnerId", "User", label="Owner ID"),
    _ref("ContactId", "Contact", label="Contact ID"),
    Field("Subject", "string", 255), Field("Description", "textarea", 32000),
    _pick("Status", ("New", "Working", "Escalated", "Closed"), required=True, default="New"),
    _pick("Priority", ("High", "Medium", "Low"), default="Medium"),
    _pick("Origin", ("Phone", "Email", "Web", "Chat"), label="Case Origin"),
    Field("IsClosed", "boolean", label="Closed", nillable=False, createable=False, updateable=False),
    *_sys(),
])
_define("ContentNote", "069", "Note", [
    _id(), Field("Title", "string", 255, required=True, nillable=False),
    Field("Content", "base64", 0, label="Content"), Field("TextPreview", "string", 255, label="Text Preview",
                                                         createable=False, updateable=False),
    _ref("OwnerId", "User", label="Owner ID"), Field("FileType", "string", 20, createable=False, updateable=False),
    Field("ContentSize", "int", 9, label="Size", createable=False, updateable=False),
    *_sys(modstamp=False),
])
_define("ContentDocumentLink", "06A", "Content Document Link", [
    _id(), Field("ContentDocumentId", "reference", 18, label="ContentDocument ID", reference_to=("ContentNote",),
                 relationship_name="ContentDocument", required=True, nillable=False, updateable=False),
    Field("LinkedEntityId", "reference", 18, label="Linked Entity ID", reference_to=("Opportunity", "Account", "Case"),
          required=True, nillable=False, updateable=False),
    _pick("ShareType", ("V", "C", "I"), label="Share Type", default="V"),
    _pick("Visibility", ("AllUsers", "InternalUsers", "SharedUsers"), default="AllUsers"),
    Field("IsDeleted", "boolean", label="Deleted", nillable=False, createable=False, updateable=False),
    Field("SystemModstamp", "datetime", label="System Modstamp", nillable=False, createable=False, updateable=False),
])
_define("Retour_Insight__c", "a0R", "Retour Insight", [
    _id(), Field("Name", "string", 80, label="Retour Insight Name"),
    Field("Retour_Key__c", "string", 80, label="Retour Key", external_id=True, unique=True),
    Field("Theme__c", "string", 255, label="Theme"),
    _pick("Decision_Status__c", ("investigating", "planned", "shipped", "wont_do"), label="Decision Status"),
    Field("Insight__c", "textarea", 32000, label="Insight"), Field("Target_Release__c", "string", 80, label="Target Release"),
    # Both languages, so the reps' card shows each rep's own (deploy/salesforce: Insight_En__c ... Title_Fr__c).
    Field("Insight_En__c", "textarea", 32000, label="Insight (English)"),
    Field("Insight_Fr__c", "textarea", 32000, label="Insight (French)"),
    Field("Title_En__c", "string", 255, label="Title (English)"),
    Field("Title_Fr__c", "string", 255, label="Title (French)"),
    Field("Theme_Url__c", "url", 255, label="Theme URL"),
    _ref("Opportunity__c", "Opportunity", label="Opportunity"), _ref("Account__c", "Account", label="Account"),
    _ref("OwnerId", "User", label="Owner ID"),
    _pick("Status__c", ("active", "withdrawn"), label="Status", default="active"),
    *_sys(),
], custom=True)

from . import currency as _currency  # noqa: E402 - the multi-currency objects live in their own module

_currency.define(_define, Field, _id, _sys)

BY_LOWER: dict[str, SObject] = {name.lower(): obj for name, obj in OBJECTS.items()}
PREFIXES: dict[str, str] = {obj.key_prefix: name for name, obj in OBJECTS.items()}


def sobject(name: str) -> SObject | None:
    return BY_LOWER.get(name.lower())


def object_for_id(record_id: str) -> str | None:
    return PREFIXES.get(record_id[:3])


def describe_field(f: Field, lang: str = "en") -> dict:
    """One entry of ``fields[]`` in an sObject describe, with the keys clients read; ``label`` in ``lang`` when the
    field is translated into it, else in the org's language (as Salesforce answers an untranslated label), and so
    is each picklist value's ``label`` (its ``value``, the API name records hold, is the same in every language)."""
    values_fr = dict(f.picklist_fr) if lang == "fr" else {}
    return {
        "aggregatable": f.filterable, "autoNumber": False, "byteLength": f.length * 3, "calculated": False,
        "caseSensitive": False, "createable": f.createable, "custom": f.custom,
        "defaultValue": f.default if f.type in ("boolean",) else None,
        "defaultedOnCreate": f.default is not None or not f.createable, "dependentPicklist": False,
        "externalId": f.external_id, "filterable": f.filterable, "groupable": f.filterable and f.type != "double",
        "idLookup": f.type == "id" or f.external_id,
        "label": (f.label_fr if lang == "fr" else "") or f.label or f.name, "length": f.length if f.type not in (
            "boolean", "currency", "double", "int", "date", "datetime") else 0,
        "name": f.name, "nameField": f.name == "Name", "nillable": f.nillable,
        "picklistValues": [{"active": True, "defaultValue": v == f.default, "label": values_fr.get(v, v),
                            "validFor": None, "value": v} for v in f.picklist],
        "precision": 18 if f.type == "currency" else 0, "referenceTo": list(f.reference_to),
        "relationshipName": f.relationship_name or None, "restrictedPicklist": f.restricted,
        "scale": 2 if f.type == "currency" else 0, "soapType": f.soap_type, "sortable": f.filterable,
        "type": f.type, "unique": f.unique, "updateable": f.updateable,
    }


# Objects Salesforce does not replicate: their object reference lists no getDeleted()/getUpdated().
NOT_REPLICATED = frozenset({"ContentNote", "ContentDocumentLink"})


def describe(obj: SObject, version: str, lang: str = "en") -> dict:
    """An sObject describe, its field labels in ``lang`` (the request's Accept-Language) where translated."""
    base = f"/services/data/v{version}/sobjects/{obj.name}"
    return {
        "activateable": False, "createable": True, "custom": obj.custom, "customSetting": False, "deletable": True,
        "feedEnabled": obj.name in ("Account", "Opportunity", "Case"), "keyPrefix": obj.key_prefix,
        "label": obj.label, "labelPlural": obj.label_plural, "layoutable": True, "mergeable": False,
        "name": obj.name, "queryable": True, "replicateable": obj.name not in NOT_REPLICATED, "retrieveable": True, "searchable": True,
        "triggerable": True, "undeletable": True, "updateable": True,
        "childRelationships": [], "recordTypeInfos": [], "supportedScopes": [],
        "fields": [describe_field(f, lang) for f in obj.fields],
        "urls": {"sobject": base, "describe": f"{base}/describe", "rowTemplate": f"{base}/{{ID}}"},
    }


def describe_global_entry(obj: SObject, version: str) -> dict:
    base = f"/services/data/v{version}/sobjects/{obj.name}"
    return {"activateable": False, "createable": True, "custom": obj.custom, "customSetting": False,
            "deletable": True, "keyPrefix": obj.key_prefix, "label": obj.label, "labelPlural": obj.label_plural,
            "layoutable": True, "name": obj.name, "queryable": True, "replicateable": obj.name not in NOT_REPLICATED, "retrieveable": True,
            "searchable": True, "triggerable": True, "undeletable": True, "updateable": True,
            "urls": {"sobject": base, "describe": f"{base}/describe", "rowTemplate": f"{base}/{{ID}}"}}
