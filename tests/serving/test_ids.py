import os
import re

from modelyard.serving.ids import POOL_BYTES, random_hex


def test_ids_are_hex_of_the_asked_length_and_never_repeat_across_refills() -> None:
    drawn = [random_hex(8) for _ in range(3 * POOL_BYTES // 8 + 5)]
    assert all(re.fullmatch(r"[0-9a-f]{16}", value) for value in drawn)
    assert len(set(drawn)) == len(drawn)
    assert re.fullmatch(r"[0-9a-f]{32}", random_hex(16))


def test_a_forked_child_draws_bytes_of_its_own() -> None:
    read, write = os.pipe()
    random_hex(8)  # the parent's pool is filled
    child = os.fork()
    if child == 0:
        os.write(write, random_hex(8).encode())
        os._exit(0)
    os.waitpid(child, 0)
    theirs = os.read(read, 16).decode()
    assert theirs != random_hex(8)
