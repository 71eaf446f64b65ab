"""Optional fine-tuning of DenseNet121's last dense block with its 7-way head, on a CPU.

Everything before the last block is frozen, so its output (512 x 7 x 7 at 224 px) is computed once
per photo and cached like any feature; only the last block, the final norm and the head train, with
early stopping on a stratified validation slice of the train split.
"""
from __future__ import annotations

import copy

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import train_test_split

from core.progress import Progress, silent
from core.split import SEED


def frozen_part(backbone: torch.nn.Module) -> torch.nn.Module:
    """The layers up to (not including) the last dense block."""
    children = dict(backbone.features.named_children())
    names = list(children)
    return torch.nn.Sequential(*[children[n] for n in names[: names.index("denseblock4")]])


class TunedTop(torch.nn.Module):
    """The last dense block, the final norm and a linear head: what fine-tuning trains."""

    def __init__(self, backbone: torch.nn.Module, classes: int):
        super().__init__()
        self.block = copy.deepcopy(backbone.features.denseblock4)
        self.norm = copy.deepcopy(backbone.features.norm5)
        self.head = torch.nn.Linear(backbone.classifier.in_features, classes)

    def forward(self, block_input: torch.Tensor) -> torch.Tensor:
        maps = torch.nn.functional.relu(self.norm(self.block(block_input)))
        return self.head(torch.flatten(torch.nn.functional.adaptive_avg_pool2d(maps, 1), 1))


class FineTunedNetwork(torch.nn.Module):
    """Frozen part + fine-tuned top: class logits from pixels (for Grad-CAM)."""

    def __init__(self, frozen: torch.nn.Module, top: torch.nn.Module):
        super().__init__()
        self.frozen, self.top = frozen, top

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.top(self.frozen(pixels))


class FineTunedDenseNetHead(ClassifierMixin, BaseEstimator):
    """A scikit-learn classifier on flattened last-block inputs that fine-tunes ``TunedTop``.

    ``input_shape`` is the shape of one block input (channels, height, width).
    """

    def __init__(self, backbone: torch.nn.Module, input_shape: tuple[int, int, int], max_epochs: int = 8,
                 patience: int = 2, validation_share: float = 0.15, batch_size: int = 32,
                 progress: Progress = silent):
        self.backbone = backbone
        self.input_shape = input_shape
        self.max_epochs = max_epochs
        self.patience = patience
        self.validation_share = validation_share
        self.batch_size = batch_size
        self.progress = progress

    def __getstate__(self):
        # A progress callback belongs to one process (a terminal bar, a page); copies report nothing.
        state = super().__getstate__()
        state["progress"] = silent
        return state

    def _tensor(self, X: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32)).view(-1, *self.input_shape)

    def fit(self, X: np.ndarray, y: np.ndarray):
        self.classes_ = np.unique(y)
        targets = torch.from_numpy(np.searchsorted(self.classes_, y))
        validation_size = max(round(self.validation_share * len(y)), len(self.classes_))  # one per class at least
        train, validation = train_test_split(np.arange(len(y)), test_size=validation_size, stratify=y,
                                             random_state=SEED)
        torch.manual_seed(SEED)
        top = TunedTop(self.backbone, len(self.classes_))
        optimiser = torch.optim.Adam([
            {"params": [*top.block.parameters(), *top.norm.parameters()], "lr": 1e-4},
            {"params": top.head.parameters(), "lr": 1e-3},
        ])
        inputs = self._tensor(X)
        best_loss, best_state, waited = np.inf, copy.deepcopy(top.state_dict()), 0
        for epoch in range(self.max_epochs):
            self.progress(epoch, self.max_epochs, "fine-tuning the last dense block")
            top.train()
            for batch in torch.from_numpy(train)[torch.randperm(len(train))].split(self.batch_size):
                loss = torch.nn.functional.cross_entropy(top(inputs[batch]), targets[batch])
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
            top.eval()
            with torch.no_grad():
                validation_loss = float(torch.nn.functional.cross_entropy(top(inputs[validation]),
                                                                          targets[validation]))
            if validation_loss < best_loss - 1e-4:
                best_loss, best_state, waited = validation_loss, copy.deepcopy(top.state_dict()), 0
            else:
                waited += 1
                if waited >= self.patience:
                    break  # early stopping: validation loss stopped improving
        self.progress(self.max_epochs, self.max_epochs, "fine-tuning the last dense block")
        top.load_state_dict(best_state)
        self.top_ = top.eval()
        self.epochs_ = epoch + 1
        self.validation_loss_ = best_loss
        return self

    @torch.no_grad()
    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return torch.softmax(self.top_(self._tensor(X)), dim=1).numpy()

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.classes_[self.predict_proba(X).argmax(axis=1)]
