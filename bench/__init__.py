"""Benchmarks of the engine and the app at size: `python -m bench` prints wall time, peak memory and ratios."""

import psutil


def tree_memory(process: psutil.Process) -> int:
    """Bytes of memory a process and its children use: their proportional set sizes, so that pages a forked worker
    shares with its parent count once (a sum of resident sizes counts them in every process)."""
    total = 0
    for member in [process, *process.children(recursive=True)]:
        try:
            total += member.memory_full_info().pss
        except psutil.Error:
            pass
    return total
