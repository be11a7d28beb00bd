"""The system's resolver (getaddrinfo, so /etc/hosts counts), for webhook hosts."""

from __future__ import annotations

import asyncio
import socket


class SystemResolver:
    async def resolve(self, host: str, port: int) -> list[str]:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, port, type=socket.SOCK_STREAM)
        return list(dict.fromkeys(str(info[4][0]) for info in infos))
