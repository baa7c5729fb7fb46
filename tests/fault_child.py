"""Run the ``upsamplers`` command with a pause point, for ``test_faults``:

    python fault_child.py POINT N MARKER [--barrier BARRIER] ARGS...

runs ``upsamplers ARGS...`` in this process; the N-th time the run reaches
POINT it writes MARKER (holding its process id) and waits until the file
``MARKER.go`` appears, so that the test can ``kill -9`` it exactly there (or let
it go on). With ``--barrier``, it first waits the same way at BARRIER before the
command starts, so that several commands can be released at the same moment.
Nothing else changes: the command is the real one. POINT is one of
:data:`POINTS`.

    python fault_child.py --fork SPECS

imports the package once, then forks one process per entry of the JSON list in
the file SPECS (``{"point", "n", "marker", "args", "pid"}``; point ``"none"``:
no pause) that runs ``upsamplers ARGS`` with that pause point. Each child's
process id is written to the file ``pid``, and its wait status, once it ended,
to ``pid.status``: one torch import for many killed commands.
"""

import io
import os
import sys
import time
from pathlib import Path

POINTS = {
    "config-write": "half of config.json written to its temporary file",
    "eval": "during an evaluation",
    "log-line": "half of a step's log line written",
    "checkpoint-write": "half of checkpoint.pt written to its temporary file",
    "model-write": "half of model.pt written to its temporary file",
}


def pause(marker: str) -> None:
    Path(marker).write_text(f"{os.getpid()}\n")
    deadline = time.monotonic() + 300
    while not Path(marker + ".go").exists():
        if time.monotonic() > deadline:
            os._exit(99)
        time.sleep(0.01)


def install(point: str, n: int, marker: str) -> None:
    import torch

    import upsamplers._io as io_module
    import upsamplers.train as train

    count = [0]

    def hit() -> bool:
        count[0] += 1
        return count[0] == n

    def first_half(write, *args):
        buffer = io.BytesIO()
        write(buffer, *args)
        return buffer.getvalue()[: len(buffer.getvalue()) // 2]

    save, log_line, write_text = torch.save, train._log_line, train.atomic_write_text
    score = train._score_untouched

    def torch_save(obj, f, *args, **kwargs):
        target = {"checkpoint-write": ".checkpoint.pt.", "model-write": ".model.pt."}.get(point)
        name = Path(str(getattr(f, "name", ""))).name
        if target and name.startswith(target) and hit():
            f.write(first_half(lambda b: save(obj, b, *args, **kwargs)))
            f.flush()
            pause(marker)
        return save(obj, f, *args, **kwargs)

    def log(path, record):
        if point == "log-line" and "loss" in record and hit():
            with open(path, "a") as handle:
                line = __import__("json").dumps(record) + "\n"
                handle.write(line[: len(line) // 2])
            pause(marker)
        return log_line(path, record)

    def atomic_text(path, text):
        if point == "config-write" and Path(path).name == train.CONFIG and hit():
            io_module.temporary_path(path).write_text(text[: len(text) // 2])
            pause(marker)
        return write_text(path, text)

    def evaluate(*args, **kwargs):
        if point == "eval" and hit():
            pause(marker)
        return score(*args, **kwargs)

    torch.save = torch_save
    train._log_line, train.atomic_write_text = log, atomic_text
    train._score_untouched = evaluate


def fork_all(specs_path: str) -> None:
    import json

    import torch  # noqa: F401  (imported once, before the forks)

    from upsamplers.cli import main

    children = {}
    for spec in json.loads(Path(specs_path).read_text()):
        pid = os.fork()
        if pid == 0:  # the command, in a child
            code = 1
            try:
                if spec["point"] != "none":
                    install(spec["point"], spec["n"], spec["marker"])
                code = main(spec["args"])
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        children[pid] = spec["pid"]
        Path(spec["pid"] + ".tmp").write_text(f"{pid}\n")
        os.replace(spec["pid"] + ".tmp", spec["pid"])
    while children:
        pid, status = os.wait()
        status_file = children.pop(pid) + ".status"  # written whole: the test polls for it
        Path(status_file + ".tmp").write_text(f"{status}\n")
        os.replace(status_file + ".tmp", status_file)


if __name__ == "__main__" and sys.argv[1] == "--fork":
    fork_all(sys.argv[2])
elif __name__ == "__main__":
    point, n, marker, args = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
    assert point in POINTS, point
    from upsamplers.cli import main

    install(point, n, marker)
    if args[0] == "--barrier":
        barrier, args = args[1], args[2:]
        pause(barrier)
    sys.exit(main(args))
