"""A person's in-app inbox: the page, the unread count, marking read and archiving."""
from services.notifications.domain.recipients import check_person
from shared.domain import NotFoundError


def inbox(repository, principal, staff_id, query):
    """A page of the inbox (unread first, newest first within each) with the unread count."""
    check_person(principal, repository.recipient(staff_id), staff_id)
    listing = repository.inbox_listing(staff_id, query["archived"], query)
    return {**listing, "unread": repository.unread_count(staff_id)}


def unread_count(repository, principal, staff_id):
    check_person(principal, repository.recipient(staff_id), staff_id)
    return repository.unread_count(staff_id)


def _inbox_item(repository, principal, staff_id, notification_id):
    check_person(principal, repository.recipient(staff_id), staff_id)
    item = repository.notification(notification_id)
    if item is None or item["recipient_id"] != staff_id or item["channel"] != "inbox":
        raise NotFoundError(f"no inbox item {notification_id}", {"notification_id": ["not found"]})
    return item


def mark_read(repository, principal, staff_id, notification_id, now):
    item = _inbox_item(repository, principal, staff_id, notification_id)
    if item.get("unread"):
        repository.set_fields(notification_id, {"unread": False, "read_at": now})
        item = {**item, "unread": False, "read_at": now}
    return item


def archive(repository, principal, staff_id, notification_id, now):
    item = _inbox_item(repository, principal, staff_id, notification_id)
    if item.get("archived_at") is None:
        fields = {"archived_at": now, "unread": False, "read_at": item.get("read_at") or now}
        repository.set_fields(notification_id, fields)
        item = {**item, **fields}
    return item
