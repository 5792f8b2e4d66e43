"""files.getUploadURLExternal / files.completeUploadExternal: the flow behind files_upload_v2.

The bot uploads digests this way: reserve an upload URL, POST the bytes there (served by the fake
at ``/upload/v1/{token}``), then complete the upload, which shares the file as a message in the
channel. An incomplete step (no bytes uploaded, unknown file id) fails like Slack does.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from typing import Any

from townhall.testing.fake_slack_state import Channel, Upload, Workspace
from townhall.testing.fake_slack_validate import ApiError

Params = dict[str, Any]


class FilesApi:
    """Mixin for the Web API: the external-upload file methods."""

    ws: Workspace
    _base_url: Callable[[], str]

    def _channel(self, params: Params, key: str = "channel", *, post: bool = False) -> Channel:
        raise NotImplementedError  # provided by WebApi

    def files_get_upload_url(self, params: Params) -> dict[str, Any]:
        filename = params.get("filename")
        try:
            length = int(params.get("length"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            length = -1
        if not filename or length < 1:
            raise ApiError(
                "invalid_arguments",
                response_metadata={
                    "messages": ["[ERROR] filename and a positive length are required"]
                },
            )
        upload = Upload(
            file_id=self.ws.ids.new("F"),
            filename=str(filename),
            length=length,
            upload_token=self.ws.ids.token(16),
            alt_txt=params.get("alt_txt"),
        )
        self.ws.uploads[upload.file_id] = upload
        url = f"{self._base_url()}upload/v1/{upload.upload_token}"
        return {"ok": True, "upload_url": url, "file_id": upload.file_id}

    def files_complete_upload(self, params: Params) -> dict[str, Any]:
        files = params.get("files")
        if not isinstance(files, list) or not files:
            raise ApiError("invalid_arguments")
        uploads: list[tuple[Upload, dict[str, Any]]] = []
        for item in files:
            upload = self.ws.uploads.get(str(item.get("id")))
            if upload is None or upload.content is None or upload.completed:
                raise ApiError("file_not_found")
            uploads.append((upload, item))
        channel_ids = [c for c in str(params.get("channels") or "").split(",") if c]
        if params.get("channel_id"):
            channel_ids.insert(0, str(params["channel_id"]))
        channels = [self._channel({"channel": c}, post=True) for c in channel_ids]
        thread_ts = params.get("thread_ts") or None
        parents = {c.id: self.ws.find(c.id, str(thread_ts)) for c in channels if thread_ts}
        if any(parent is None for parent in parents.values()):
            raise ApiError("thread_not_found")
        file_objs = []
        for upload, item in uploads:
            upload.completed = True
            upload.title = str(item.get("title") or upload.filename)
            upload.channel_id = channels[0].id if channels else None
            upload.thread_ts = thread_ts
            upload.initial_comment = params.get("initial_comment")
            file_objs.append(self._file_object(upload, [c.id for c in channels]))
        for channel in channels:
            data: dict[str, Any] = {
                "type": "message",
                "text": str(params.get("initial_comment") or ""),
                "files": copy.deepcopy(file_objs),
                "upload": True,
                "user": self.ws.identity.bot_user_id,
                "display_as_bot": False,
                "ts": self.ws.clock.next(),
                "team": self.ws.identity.team_id,
            }
            if thread_ts:
                data["thread_ts"] = str(thread_ts)
                data["parent_user_id"] = parents[channel.id].data.get("user", "")  # type: ignore[union-attr]
            self.ws.store(channel.id, data)
        return {"ok": True, "files": [{"id": f["id"], "title": f["title"]} for f in file_objs]}

    def _file_object(self, upload: Upload, channel_ids: list[str]) -> dict[str, Any]:
        ident = self.ws.identity
        ext = upload.filename.rsplit(".", 1)[-1].lower() if "." in upload.filename else "text"
        private = f"{self._base_url()}files-pri/{ident.team_id}-{upload.file_id}/{upload.filename}"
        return {
            "id": upload.file_id,
            "created": int(time.time()),
            "timestamp": int(time.time()),
            "name": upload.filename,
            "title": upload.title,
            "mimetype": "text/plain",
            "filetype": ext,
            "pretty_type": ext.upper(),
            "user": ident.bot_user_id,
            "user_team": ident.team_id,
            "editable": False,
            "size": upload.length,
            "mode": "hosted",
            "is_external": False,
            "external_type": "",
            "is_public": True,
            "public_url_shared": False,
            "display_as_bot": False,
            "username": "",
            "url_private": private,
            "url_private_download": private + "?download=1",
            "permalink": f"{ident.team_url}files/{ident.bot_user_id}/{upload.file_id}/x",
            "channels": channel_ids,
            "groups": [],
            "ims": [],
            "comments_count": 0,
            "has_rich_preview": False,
            "file_access": "visible",
        }
