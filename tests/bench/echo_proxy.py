"""A trivial asyncio (uvloop) HTTP/1.1 proxy, the control for the latency tail (tests.bench.tail):
`python -m tests.bench.echo_proxy PORT UPSTREAM_PORT`.

It passes each request to the upstream on one keep-alive connection per client and the answer
back, knowing nothing but content-length: no parsing, no routing, no garbage to collect, no
timers. Whatever tail it shows on a given pinning is the machine's and the event loop's, not the
router's."""

from __future__ import annotations

import asyncio
import sys

import uvloop


async def read_message(reader: asyncio.StreamReader) -> bytes:
    """One request or response: its head and a content-length body (nginx's static files and
    wrk's POSTs always carry one)."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    return head + (await reader.readexactly(length) if length else b"")


async def serve_client(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter,
                       upstream_port: int) -> None:
    upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", upstream_port)
    try:
        while True:
            upstream_writer.write(await read_message(client_reader))
            client_writer.write(await read_message(upstream_reader))
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        upstream_writer.close()
        client_writer.close()


async def main(port: int, upstream_port: int) -> None:
    server = await asyncio.start_server(lambda r, w: serve_client(r, w, upstream_port), "127.0.0.1", port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    uvloop.run(main(int(sys.argv[1]), int(sys.argv[2])))
