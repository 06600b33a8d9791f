"""web's pages: signing in through identity, the notes, the admin page."""

from __future__ import annotations

import hmac
import secrets
import typing as t
from urllib.parse import quote, urlencode

from hermetic import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from hermetic.security import (
    UserMixin,
    current_user,
    login_required,
    login_user,
    logout_user,
    next_url,
    public,
    requires,
)

from .client import ApiClient, ApiError, GrantInvalid, IdentityClient, ServiceUnavailable

if t.TYPE_CHECKING:  # pragma: no cover
    from hermetic import Flask

auth = Blueprint("auth", __name__, url_prefix="/auth", template_folder="templates")
notes = Blueprint("notes", __name__, template_folder="templates")


class WebUser(UserMixin):
    """The signed-in user, as identity described them at sign-in (kept in the session)."""

    def __init__(self, profile: t.Mapping[str, t.Any]) -> None:
        self.id = str(profile["id"])
        self.email = str(profile["email"])
        self.name = str(profile.get("name") or profile["email"])
        self.roles = tuple(profile.get("roles") or ())


def init_app(app: Flask) -> None:
    """Load the user from the session's profile."""

    @app.login_manager.user_loader  # type: ignore[attr-defined]
    def load_user(user_id: str) -> WebUser | None:
        profile = session.get("profile")
        if not profile or str(profile.get("id")) != user_id or not session.get("grant"):
            return None
        return WebUser(profile)


def _identity() -> IdentityClient:
    return t.cast(IdentityClient, current_app.extensions["reference.identity"])


def _api(method: str, path: str, payload: t.Any = None) -> dict[str, t.Any]:
    api: ApiClient = current_app.extensions["reference.api"]
    return api.call(method, path, session["grant"], payload)


def _callback_url() -> str:
    return current_app.config["WEB_URL"] + url_for("auth.callback")


# -- signing in and out ----------------------------------------------------------


@auth.get("/login")
@public
def login() -> t.Any:
    if current_user.is_authenticated:
        return redirect(url_for("notes.index"))
    state = secrets.token_urlsafe(24)
    session["oauth_state"] = state
    session["after_login"] = next_url(fallback=url_for("notes.index"))
    query = urlencode(
        {
            "client_id": current_app.config["WEB_CLIENT_ID"],
            "redirect_uri": _callback_url(),
            "state": state,
        }
    )
    return redirect(f"{current_app.config['IDENTITY_PUBLIC_URL']}/oauth/authorize?{query}")


# --8<-- [start:sign-in]
@auth.get("/callback")
@public
def callback() -> t.Any:
    expected = session.pop("oauth_state", None)
    state = request.args.get("state", "")
    # SECURITY: the state ties the answer to the sign-in this browser started (login CSRF).
    if not expected or not hmac.compare_digest(expected, state):
        flash("That sign-in link is not valid any more. Please sign in again.", "error")
        return redirect(url_for("notes.index")), 302
    try:
        answer = _identity().exchange_code(request.args.get("code", ""), _callback_url())
    except GrantInvalid:
        flash("The sign-in did not complete. Please try again.", "error")
        return redirect(url_for("notes.index"))
    target = session.pop("after_login", None) or url_for("notes.index")
    user = WebUser(answer["user"])
    session["profile"] = answer["user"]
    session["grant"] = answer["grant"]
    login_user(user)
    # --8<-- [end:sign-in]
    flash(f"Signed in as {user.email}.", "success")
    return redirect(target)


# --8<-- [start:logout]
@auth.post("/logout")
@login_required
def logout() -> t.Any:
    grant = session.get("grant")
    logout_user()
    if grant:
        try:
            _identity().revoke(grant)
        except (ServiceUnavailable, GrantInvalid):
            current_app.logger.warning("could not revoke the grant at identity")
    # --8<-- [end:logout]
    flash("You are signed out.", "success")
    return redirect(url_for("notes.index"))


# -- notes -------------------------------------------------------------------------


def _form_note() -> dict[str, str]:
    # Passed on whole: api refuses what is too long and the form comes back as typed.
    return {"title": request.form.get("title", ""), "body": request.form.get("body", "")}


def _refused(e: ApiError) -> None:
    """Turn api's refusal into this page's: 403, 404 and 429 as they are.

    A 401 means api no longer takes the user's tokens (a revoked subject):
    the sign-in ends, as when identity refuses the grant.
    """
    if e.status == 401:
        raise GrantInvalid("api refused the user's token")
    if e.status in (403, 404, 429):
        abort(e.status)


@notes.get("/")
@public
def index() -> t.Any:
    if not current_user.is_authenticated:
        return render_template("welcome.html")
    page = max(1, min(request.args.get("page", 1, type=int) or 1, 10_000))
    try:
        listing = _api("GET", f"/v1/notes?page={page}&per_page=10")
    except ApiError as e:
        _refused(e)
        raise
    return render_template("index.html", listing=listing)


@notes.route("/notes/new", methods=["GET", "POST"])
@login_required
def new() -> t.Any:
    note = {"title": "", "body": ""}
    if request.method == "POST":
        note = _form_note()
        try:
            created = _api("POST", "/v1/notes", note)
        except ApiError as e:
            _refused(e)
            for message in e.messages():
                flash(message, "error")
            return render_template("edit.html", note=note, creating=True), 400
        flash("Note saved.", "success")
        return redirect(url_for("notes.show", note_id=created["id"]))
    return render_template("edit.html", note=note, creating=True)


def _get(note_id: int) -> dict[str, t.Any]:
    try:
        return _api("GET", f"/v1/notes/{note_id}")
    except ApiError as e:
        _refused(e)
        raise


@notes.get("/notes/<int:note_id>")
@login_required
def show(note_id: int) -> t.Any:
    return render_template("show.html", note=_get(note_id))


@notes.route("/notes/<int:note_id>/edit", methods=["GET", "POST"])
@login_required
def edit(note_id: int) -> t.Any:
    if request.method == "POST":
        note = _form_note()
        try:
            _api("PATCH", f"/v1/notes/{note_id}", note)
        except ApiError as e:
            _refused(e)
            for message in e.messages():
                flash(message, "error")
            return render_template("edit.html", note={**note, "id": note_id}, creating=False), 400
        flash("Note updated.", "success")
        return redirect(url_for("notes.show", note_id=note_id))
    note = _get(note_id)
    if not note["can_edit"]:
        abort(403)
    return render_template("edit.html", note=note, creating=False)


@notes.route("/notes/<int:note_id>/share", methods=["GET", "POST"])
@login_required
def share(note_id: int) -> t.Any:
    if request.method == "POST":
        email = request.form.get("email", "")
        remove = request.form.get("action") == "remove"
        try:
            if remove:
                _api("DELETE", f"/v1/notes/{note_id}/shares/{quote(email, safe='@')}")
            else:
                _api("POST", f"/v1/notes/{note_id}/shares", {"email": email})
        except ApiError as e:
            _refused(e)
            for message in e.messages():
                flash(message, "error")
            return redirect(url_for("notes.share", note_id=note_id))
        flash(f"No longer shared with {email}." if remove else f"Shared with {email}.", "success")
        return redirect(url_for("notes.share", note_id=note_id))
    return render_template("share.html", note=_get(note_id))


@notes.route("/notes/<int:note_id>/delete", methods=["GET", "POST"])
@login_required
def delete(note_id: int) -> t.Any:
    if request.method == "POST":
        try:
            _api("DELETE", f"/v1/notes/{note_id}")
        except ApiError as e:
            _refused(e)
            raise
        flash("Note deleted.", "success")
        return redirect(url_for("notes.index"))
    # The confirmation is a page of its own: no script, no dialog to block.
    return render_template("delete.html", note=_get(note_id))


@notes.get("/admin")
@requires("admin:view")
def admin() -> t.Any:
    try:
        stats = _api("GET", "/v1/admin/stats")
    except ApiError as e:
        _refused(e)
        raise
    return render_template("admin.html", stats=stats)
