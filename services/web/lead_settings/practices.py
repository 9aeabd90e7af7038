"""The network's practices and their API keys: register a practice, issue a practice key or a
person key (shown once, in the answer to the POST itself, never stored here nor put in a URL;
the same form sent again, by a reload, is told so and issues nothing), revoke a key after a
confirmation page."""
from services.web import forms
from services.web.dates import long_date
from services.web.lead_settings.common import DONE_WORDS, acting_principal, segment
from services.web.pages import html, page, redirect
from services.web.upstream import UpstreamRefused
from shared.access import may_revoke_key

# Each form's fields, prefixed by the form, in its order: field -> label.
PRACTICE_LABELS = {"practice.ods_code": "ODS code", "practice.name": "Practice name"}
PRACTICE_KEY_LABELS = {"practice_key.practice_id": "Practice",
                       "practice_key.label": "What the key is for"}
PERSON_KEY_LABELS = {"person_key.staff_id": "Staff ID", "person_key.practice_id": "Practice",
                     "person_key.label": "What the key is for"}
KEY_FORMS = {"practice": PRACTICE_KEY_LABELS, "person": PERSON_KEY_LABELS}
ROLE_WORDS = {"practice": "Practice", "person": "Person", "network_lead": "Network lead",
              "admin": "Admin", "ops": "Operations"}


def practice_body(values, network_id):
    """The projects service's body for the register-a-practice form."""
    return {"ods_code": values["practice.ods_code"].upper(), "name": values["practice.name"],
            "network_id": network_id}


def key_body(key_kind, values, network_id):
    """The projects service's body for an issue-a-key form of ``key_kind`` (practice or person):
    a person key without a practice is bound to the network (``network_id``)."""
    prefix = f"{key_kind}_key."
    body = {"role": key_kind, "practice_id": values[prefix + "practice_id"] or None,
            "label": values[prefix + "label"] or None}
    if key_kind == "person":
        body["staff_id"] = values[prefix + "staff_id"]
        if body["practice_id"] is None:
            body["network_id"] = network_id
    return body


def key_rows(keys, principal, practices):
    """Keys as the table shows them: live ones first, newest first within each."""
    names = {p["ods_code"]: p["name"] for p in practices}
    rows = []
    for key in sorted(keys, key=lambda k: k.get("issued_at") or "", reverse=True):
        holder = key.get("staff_id") or ""
        practice = key.get("practice_id")
        rows.append({
            "id": key["key_id"], "label": key.get("label") or "(no label)",
            "role": ROLE_WORDS.get(key["role"], key["role"]),
            "for": ", ".join(part for part in (
                f"staff {holder}" if holder else "",
                f"{names.get(practice, practice)} ({practice})" if practice else "")
                if part) or "the network",
            "issued": long_date(key.get("issued_at")),
            "revoked": long_date(key.get("revoked_at")),
            "may_revoke": not key.get("revoked_at") and may_revoke_key(
                principal, {"role": key["role"], "network_id": key.get("network_id")})})
    return sorted(rows, key=lambda row: bool(row["revoked"]))


class PracticeSettingsPages:
    """Mixed into ``WebService`` through ``LeadSettingsPages``."""

    @page("GET", "/settings/practices")
    def settings_practices(self, request, session):
        if not self._leads(session):
            return self._not_found(session)
        return "settings_practices.jinja", self._practices_context(
            session, {}, {}, done=DONE_WORDS.get(request.args.get("done")))

    @page("POST", "/settings/practices", form=True)
    def register_practice(self, request, session):
        access = self._leads(session)
        if not access:
            return self._not_found(session)
        values = {name: request.form.get(name, "").strip() for name in PRACTICE_LABELS}
        try:
            self.upstream(session).send("projects", "POST", "/practices",
                                        practice_body(values, access.network_id))
        except UpstreamRefused as refused:
            errors = forms.refused_fields(refused, PRACTICE_LABELS, aliases={
                "ods_code": "practice.ods_code", "name": "practice.name",
                "_id": "practice.ods_code"})
            return self._practices_form_again(session, request, values, errors,
                                              PRACTICE_LABELS)
        return redirect("/settings/practices?done=practice")

    @page("POST", "/settings/keys", form=True, once=True)
    def issue_key(self, request, session):
        """A practice or person key; the key itself is in this answer only (no-store)."""
        access = self._leads(session)
        if not access:
            return self._not_found(session)
        key_kind = request.form.get("role")
        if key_kind not in KEY_FORMS:
            return self._not_found(session)
        labels = KEY_FORMS[key_kind]
        values = {name: request.form.get(name, "").strip() for name in labels}
        prefix = f"{key_kind}_key."
        try:
            issued = self.upstream(session).send("projects", "POST", "/api-keys",
                                                 key_body(key_kind, values, access.network_id))
        except UpstreamRefused as refused:
            errors = forms.refused_fields(refused, labels, aliases={
                "practice_id": prefix + "practice_id", "network_id": prefix + "practice_id",
                "staff_id": prefix + "staff_id", "label": prefix + "label"})
            return self._practices_form_again(session, request, values, errors, labels)
        return html("settings_key_issued.jinja", **self.common_context(session, request),
                    title="Your new key", nav="settings", api_key=issued["api_key"],
                    label=issued.get("label") or "(no label)",
                    role=ROLE_WORDS.get(issued["role"], issued["role"]),
                    practice_id=issued.get("practice_id"), staff_id=issued.get("staff_id"))

    @page("GET", "/settings/keys/<key_id>/revoke")
    def confirm_revoke(self, request, session, key_id):
        access = self._leads(session)
        if not access:
            return self._not_found(session)
        keys = self.upstream(session).projects("/api-keys", params={"page_size": 200})["items"]
        rows = [row for row in key_rows(keys, acting_principal(access), [])
                if row["id"] == key_id and row["may_revoke"]]
        if not rows:
            return self._not_found(session)
        return "settings_revoke.jinja", {"title": f"Are you sure you want to revoke "
                                                  f"the key “{rows[0]['label']}”?",
                                         "nav": "settings", "key": rows[0]}

    @page("POST", "/settings/keys/<key_id>/revoke", form=True)
    def revoke_key(self, request, session, key_id):
        if not self._leads(session):
            return self._not_found(session)
        self.upstream(session).send("projects", "POST", f"/api-keys/{segment(key_id)}/revoke")
        return redirect("/settings/practices?done=revoked")

    def _practices_form_again(self, session, request, values, errors, labels):
        context = self._practices_context(session, values, errors, labels=labels)
        return html("settings_practices.jinja", status=422,
                    **self.common_context(session, request), **context)

    def _practices_context(self, session, values, errors, labels=None, done=None):
        access = self.access_of(session)
        upstream = self.upstream(session)
        practices = upstream.projects("/practices", params={
            "network_id": access.network_id, "page_size": 200})["items"]
        keys = upstream.projects("/api-keys", params={"page_size": 200})
        for practice in practices:
            practice["registered"] = long_date(practice.get("created_at"))
        return {"title": "Practices and their keys", "nav": "settings", "done": done,
                "practices": practices,
                "keys": key_rows(keys["items"], acting_principal(access), practices),
                "more_keys": keys["total"] > len(keys["items"]),
                "values": values, "errors": forms.field_messages(errors),
                "error_list": forms.error_list(errors, labels or {})}
