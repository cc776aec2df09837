"""The app's label and the permission names every surface checks.

The label is ``sora_videos`` (the package stays ``videos``) so that a host site with an
app of its own labelled ``videos`` can install this one; writing the names here once
keeps the admin, the gallery and the CLI checking the same strings.
"""

APP_LABEL = "sora_videos"

VIEW = f"{APP_LABEL}.view_videojob"
CHANGE = f"{APP_LABEL}.change_videojob"
DELETE = f"{APP_LABEL}.delete_videojob"
SUBMIT = f"{APP_LABEL}.submit_videojob"
#: Act on anyone's videos (not only one's own) and see everyone's spend: the "Video managers".
MANAGE = f"{APP_LABEL}.manage_videojob"
#: Approve or reject what waits for approval (APPROVAL_ABOVE): the "Video reviewers".
APPROVE = f"{APP_LABEL}.approve_videojob"
