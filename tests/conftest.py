import pytest
import torch


@pytest.fixture
def one_thread():
    """Correctness only: one thread keeps many small calls fast even when the
    machine's cores are busy with other work. Restores the thread count after."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
