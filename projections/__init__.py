"""Read models derived from the events: status (affiliation, continuity, arrears),
explanations, and the reporting database export."""
