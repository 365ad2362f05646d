"""Token-estimate accuracy (not a test): router.hub.tokens against Claude's published tokenizer, offline.

The reference is the tokenizer Anthropic shipped inside the `anthropic` SDK up to 0.34
(`anthropic/tokenizer.json`, a byte-level BPE for the `tokenizers` package). It is the only Claude
tokenizer ever published; Anthropic said it is not exact for Claude 3 and later, and Opus 4.7+
use a newer one (~30% more tokens, applied in router.hub.tokens as a per-model scale that this
benchmark cannot check). The project depends on a current `anthropic`, so the old one goes into a
throwaway venv, which also runs this script (it needs msgspec to import the router):

    python3 -m venv /tmp/tokvenv
    /tmp/tokvenv/bin/pip install 'anthropic==0.34.2' tokenizers msgspec
    cd <repo> && /tmp/tokvenv/bin/python -m tests.bench.token_accuracy \\
        --tokenizer /tmp/tokvenv/lib/python3.11/site-packages/anthropic/tokenizer.json

For each prompt it compares `estimate_text_tokens` with the tokenizer's count over the same text:
for the Claude Code fixtures, `request_text(request)` (system, messages, tool definitions, exactly
what `count_input_tokens` estimates before adding fixed overheads, images and the model's scale);
then a few texts of other kinds written here. `--file PATH` adds any text file (a held-out check
when recalibrating the weights in router/hub/tokens.py). Prints a Markdown table, the mean absolute
error, and the time `count_input_tokens` takes on the largest fixture.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import msgspec

from router.hub.messages import MessagesRequest
from router.hub.tokens import count_input_tokens, estimate_text_tokens, request_text

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "claude-code"

PROSE = """\
The harbour town woke slowly that autumn. Fishing boats came in later than they used to, their
hulls heavy with nets that held more seaweed than fish, and the men who steered them talked less at the
quay. Nobody could say exactly when the change had started. Some blamed the new breakwater, built three
winters ago with money from the capital; others blamed the warmer water, or the trawlers that worked
the deep banks beyond the horizon, or simply bad luck, which in a town like this was never far from
anyone's mind.

Marta ran the café on the corner of the square, and she heard every theory before noon. She poured
coffee, nodded, and kept her own opinion to herself: the sea had always given and taken in turns, and
the people who lasted were the ones who learned to wait. Her grandmother had said so, and her
grandmother had survived two wars, a flood, and forty years of marriage to a man who sang in his sleep.

In October a letter arrived from the regional council. It proposed a museum of maritime history, to
be built where the old cannery stood, with a gift shop, a car park for sixty vehicles, and "interactive
exhibits suitable for families". The town argued about it for a month. Then, one grey Tuesday, the
boats came back full.
"""

PYTHON = '''\
from __future__ import annotations

import dataclasses
import heapq
from collections.abc import Iterable, Iterator


@dataclasses.dataclass(order=True)
class Job:
    """A unit of work with a priority; lower numbers run first."""

    priority: int
    name: str = dataclasses.field(compare=False)
    attempts: int = dataclasses.field(default=0, compare=False)


class Scheduler:
    def __init__(self, jobs: Iterable[Job] = (), max_attempts: int = 3) -> None:
        self._heap: list[Job] = list(jobs)
        heapq.heapify(self._heap)
        self.max_attempts = max_attempts

    def push(self, job: Job) -> None:
        heapq.heappush(self._heap, job)

    def drain(self) -> Iterator[Job]:
        while self._heap:
            job = heapq.heappop(self._heap)
            if job.attempts >= self.max_attempts:
                raise RuntimeError(f"job {job.name!r} failed {job.attempts} times")
            yield job

    def retry(self, job: Job, *, backoff: int = 10) -> None:
        """Re-queue a failed job with a lower priority so healthy jobs go first."""
        self.push(dataclasses.replace(job, priority=job.priority + backoff, attempts=job.attempts + 1))


if __name__ == "__main__":
    s = Scheduler([Job(2, "index"), Job(1, "fetch"), Job(5, "report")])
    for j in s.drain():
        print(f"{j.priority:>3}  {j.name}")
'''

JSON = """\
{
  "id": "evt_01HZX3K9Q2M7",
  "type": "order.updated",
  "created_at": "2025-03-14T09:26:53.589Z",
  "data": {
    "order": {
      "id": 48213,
      "status": "shipped",
      "currency": "EUR",
      "total": 129.95,
      "items": [
        {"sku": "TSHIRT-BLK-M", "quantity": 2, "unit_price": 19.99, "tags": ["apparel", "sale"]},
        {"sku": "MUG-WHT-350", "quantity": 1, "unit_price": 12.5, "tags": []},
        {"sku": "BOOK-978-0135957059", "quantity": 1, "unit_price": 77.47, "tags": ["books"]}
      ],
      "shipping": {
        "carrier": "DHL",
        "tracking_number": "JD014600006281234567",
        "address": {"line1": "Hauptstraße 12", "city": "Berlin", "postal_code": "10115", "country": "DE"}
      },
      "customer": {"id": "cus_8842", "email": "anna.schmidt@example.com", "verified": true, "note": null}
    },
    "previous_attributes": {"status": "paid", "updated_at": 1710407213}
  }
}
"""

CHINESE = (
    "在软件工程中，路由器负责把客户端的请求转发到合适的上游服务。它需要读取配置文件，根据模型名称选择目标，"
    "并在不同的协议之间转换请求和响应。为了保证性能，配置在加载时编译一次，之后每个请求只执行已经生成的代码。"
    "如果配置文件有错误，系统会保留旧的配置继续服务，并在日志中说明原因。流式响应逐块传递，不会把整个响应缓存在内存里。"
    "当上游连接意外中断时，路由器会发送错误事件，而不是假装正常结束。这样客户端就能正确地重试，用户也不会看到不完整的回答。\n"
)

SHELL = """\
$ git status --short && pytest -q tests/test_table.py
 M router/config/load.py
 M router/config/schema.py
?? tests/cases/openai_anthropic/
........................F.....                                           [100%]
=================================== FAILURES ===================================
_________________________ test_reload_keeps_old_table __________________________

tmp_path = PosixPath('/tmp/pytest-of-root/pytest-17/test_reload_keeps_old_table0')

    def test_reload_keeps_old_table(tmp_path: Path) -> None:
        config = tmp_path / "routes.toml"
        config.write_text(VALID)
>       table = load(config)
E       FileNotFoundError: [Errno 2] No such file or directory: 'schemas/anthropic__openai.toml'

tests/test_table.py:88: FileNotFoundError
-rw-r--r-- 1 root root   4096 Mar 14 09:26 routes.toml
drwxr-xr-x 5 root root   4096 Mar 14 09:20 router
1 failed, 29 passed in 0.84s
"""

RUSSIAN = (
    "Маршрутизатор читает один файл конфигурации и по имени модели выбирает, куда отправить запрос. "
    "Если в файле есть ошибка, сервер продолжает работать со старой таблицей и пишет в журнал, что именно "
    "не так. Потоковые ответы передаются по частям, без буферизации всего ответа в памяти.\n"
)

TEXTS = {
    "English prose": PROSE,
    "Python code": PYTHON,
    "JSON (pretty)": JSON,
    "Chinese": CHINESE,
    "shell + pytest output": SHELL,
    "Russian": RUSSIAN,
}

Row = tuple[str, int, int, int]  # prompt, characters, real tokens, estimate


def fixture_requests(folder: Path) -> Iterator[tuple[str, MessagesRequest]]:
    for path in sorted(folder.glob("*/*.json")):
        body = json.loads(path.read_text())["body"]
        yield f"{path.parent.name}/{path.stem.split('-')[0]}", msgspec.convert(body, MessagesRequest)


def measure(name: str, text: str, real: Callable[[str], int]) -> Row:
    return name, len(text), real(text), estimate_text_tokens(text)


def rows(fixtures: Path, files: list[Path], real: Callable[[str], int]) -> Iterator[Row]:
    for name, request in fixture_requests(fixtures):
        yield measure(f"fixture {name}", request_text(request).decode(), real)
    for name, text in TEXTS.items():
        yield measure(name, text, real)
    for path in files:
        yield measure(path.name, path.read_text(encoding="utf-8"), real)


def error(row: Row) -> float:
    return (row[3] - row[2]) / row[2] * 100


def print_table(table: list[Row]) -> None:
    print("| prompt | chars | real | estimate | error | len/4 error |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for row in table:
        name, chars, real, estimate = row
        naive = (chars / 4 - real) / real * 100
        print(f"| {name} | {chars:,} | {real:,} | {estimate:,} | {error(row):+.1f}% | {naive:+.1f}% |")
    fixtures = [abs(error(row)) for row in table if row[0].startswith("fixture")]
    print(f"\nmean absolute error: {statistics.fmean(abs(error(row)) for row in table):.1f}% over all prompts", end="")
    if fixtures:
        print(f", {statistics.fmean(fixtures):.1f}% over the fixtures (worst {max(fixtures):.1f}%)")
    else:
        print()


def time_largest(fixtures: Path, rounds: int = 200) -> None:
    requests = [request for _, request in fixture_requests(fixtures)]
    if not requests:
        return
    request = max(requests, key=lambda r: len(msgspec.json.encode(r)))
    start = time.perf_counter()
    for _ in range(rounds):
        count_input_tokens(request)
    elapsed = (time.perf_counter() - start) / rounds
    size = len(msgspec.json.encode(request))
    print(f"count_input_tokens on the largest fixture ({size:,} bytes): {elapsed * 1e3:.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokenizer", type=Path, required=True, help="anthropic/tokenizer.json from anthropic<=0.34")
    parser.add_argument("--fixtures", type=Path, default=FIXTURES, help="folder of Claude Code request captures")
    parser.add_argument("--file", type=Path, action="append", default=[], help="also measure this text file")
    args = parser.parse_args()

    from tokenizers import (
        Tokenizer,  # only in the throwaway venv, never a project dependency
    )

    tokenizer = Tokenizer.from_str(args.tokenizer.read_text(encoding="utf-8"))

    def real(text: str) -> int:
        return len(tokenizer.encode(text).ids)

    print_table(list(rows(args.fixtures, args.file, real)))
    time_largest(args.fixtures)


if __name__ == "__main__":
    main()
