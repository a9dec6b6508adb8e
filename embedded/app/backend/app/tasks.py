"""Task operations scoped to one user: the REST API and the MCP tools share them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from .db import Task


class TaskNotFound(LookupError):
    def __init__(self, task_id: int):
        super().__init__(f"task {task_id} not found")
        self.task_id = task_id


TITLE_MAX = 500
DESCRIPTION_MAX = 5000


class InvalidTask(ValueError):
    pass


def task_dict(task: Task) -> dict:
    return {
        "id": task.id,
        "title": task.title,
        "description": task.description,
        "completed": task.completed,
        "created_at": task.created_at.isoformat(),
        "updated_at": task.updated_at.isoformat(),
    }


def _clean_title(title: str | None) -> str:
    title = (title or "").strip()
    if not title:
        raise InvalidTask("a task needs a non-empty title")
    if len(title) > TITLE_MAX:
        raise InvalidTask(f"title: a task title is at most {TITLE_MAX} characters")
    return title


def _clean_description(description: str | None) -> str | None:
    if description is not None and len(description) > DESCRIPTION_MAX:
        raise InvalidTask(f"description: a task description is at most {DESCRIPTION_MAX} characters")
    return description or None


def _owned(session: Session, user_id: int, task_id: int) -> Task:
    task = session.get(Task, task_id)
    # someone else's task answers exactly like a missing one
    if task is None or task.user_id != user_id:
        raise TaskNotFound(task_id)
    return task


def list_tasks(session: Session, user_id: int, status: str = "all") -> list[dict]:
    query = select(Task).where(Task.user_id == user_id).order_by(Task.id)
    if status == "pending":
        query = query.where(Task.completed.is_(False))
    elif status == "completed":
        query = query.where(Task.completed.is_(True))
    elif status != "all":
        raise InvalidTask(f"status must be all, pending or completed (got {status!r})")
    return [task_dict(t) for t in session.scalars(query)]


def add_task(session: Session, user_id: int, title: str, description: str | None = None) -> dict:
    task = Task(user_id=user_id, title=_clean_title(title), description=_clean_description(description))
    session.add(task)
    session.commit()
    return task_dict(task)


def update_task(session: Session, user_id: int, task_id: int, title: str | None = None,
                description: str | None = None, completed: bool | None = None) -> dict:
    task = _owned(session, user_id, task_id)
    if title is not None:
        task.title = _clean_title(title)
    if description is not None:
        task.description = _clean_description(description)
    if completed is not None:
        task.completed = completed
    session.commit()
    return task_dict(task)


def complete_task(session: Session, user_id: int, task_id: int) -> dict:
    return update_task(session, user_id, task_id, completed=True)


def delete_task(session: Session, user_id: int, task_id: int) -> dict:
    task = _owned(session, user_id, task_id)
    gone = task_dict(task)
    session.delete(task)
    session.commit()
    return gone
