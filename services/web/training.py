"""Training: the capability pyramid with who needs what next, offerings and cohorts, enrolment and withdrawal, assessments and session registers."""


class TrainingPages:
    """Mixed into ``WebService`` (its ``upstream`` and ``page`` machinery)."""
