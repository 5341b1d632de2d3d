"""Joining a Ray cluster that `ray start` made: token authentication, and what to set when it fails.

Ray 2.60 turns token authentication on for a cluster started with `ray
start` wherever a token exists (~/.ray/auth_token, which any local
`ray.init()` leaves behind): a client that does not say RAY_AUTH_MODE=token
is then refused ("InvalidAuthToken"), after Ray has retried for about 20 s.
`ray start` itself enables token mode when it finds a token and the mode is
unset; joining with --ray-address does the same here. A client in token mode
also joins a cluster without authentication, so the token costs nothing
where it is not needed. Ray reads the mode when it is imported, so this runs
before the command imports Ray.

Free of Ray itself: the command imports Ray only after this has decided.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

AUTH_MODE = "RAY_AUTH_MODE"


def token_source(environ: Mapping[str, str]) -> str | None:
    """Return where Ray would read a token from (RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH, ~/.ray/auth_token), or None."""
    if environ.get("RAY_AUTH_TOKEN"):
        return "RAY_AUTH_TOKEN"
    path = environ.get("RAY_AUTH_TOKEN_PATH")
    if path:
        return path if Path(path).is_file() else None
    home = environ.get("HOME")
    default = Path(home) / ".ray" / "auth_token" if home else Path.home() / ".ray" / "auth_token"
    return str(default) if default.is_file() else None


def cluster_auth(environ: Mapping[str, str]) -> dict[str, str]:
    """Return what to add to the environment to join a cluster: token mode where a token exists and no mode is set."""
    if AUTH_MODE in environ or token_source(environ) is None:
        return {}
    return {AUTH_MODE: "token"}


def use_cluster_auth() -> None:
    """Apply cluster_auth to this process; call before Ray is imported."""
    os.environ.update(cluster_auth(os.environ))


def cannot_join(address: str, error: BaseException, environ: Mapping[str, str]) -> str:
    """Return the sentence for a cluster that could not be joined: Ray's reason and what to set."""
    reason = " ".join(str(error).split("\n")[0].split())[:300]
    mode, source = environ.get(AUTH_MODE, ""), token_source(environ)
    if mode == "token" and source is None:
        advice = ("token authentication is on here but there is no token: copy ~/.ray/auth_token from the head"
                  " node to this machine, or set RAY_AUTH_TOKEN to its contents")
    elif mode == "token":
        advice = (f"the token here ({source}) may not be the cluster's: use the head node's ~/.ray/auth_token"
                  " (or RAY_AUTH_TOKEN); is the cluster up (`ray status` on the head)?")
    else:
        advice = ("a cluster started with `ray start` uses token authentication when its head has a token"
                  " (~/.ray/auth_token): set RAY_AUTH_MODE=token and copy that file here (or set"
                  " RAY_AUTH_TOKEN); is the cluster up (`ray status` on the head)?")
    return f"cannot join the Ray cluster at {address}: {reason}. {advice}"
