"""FHIR in and out: the R4 export (Bundle, Questionnaire, bulk NDJSON, referral) and the import beside it."""
