"""The week's submissions of a practice: the measures due, one form for all of them, a CSV upload, corrections with a reason and their audit trail."""


class SubmissionPages:
    """Mixed into ``WebService`` (its ``upstream`` and ``page`` machinery)."""
