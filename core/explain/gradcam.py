"""Grad-CAM for the DenseNet121 scenario (Captum's LayerGradCam on the last feature block)."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from captum.attr import LayerGradCam
from PIL import Image
from sklearn.pipeline import Pipeline

from core.errors import NoPhotoError
from core.explain.base import Attributor, ListingInput
from core.explain.explanation import Explanation
from core.models.densenet import IMAGE_SIZE, imagenet_tensor, pooled_features
from core.models.densenet_finetune import FineTunedNetwork, frozen_part


class DenseNetWithHead(torch.nn.Module):
    """The backbone and the fitted head (standard scaler + logistic regression) as one network
    whose outputs are exactly the head's class logits."""

    def __init__(self, backbone: torch.nn.Module, head: Pipeline):
        super().__init__()
        self.backbone = backbone
        scaler, regression = head[0], head[-1]
        coef = regression.coef_ / scaler.scale_
        intercept = regression.intercept_ - (regression.coef_ * scaler.mean_ / scaler.scale_).sum(axis=1)
        if coef.shape[0] == 1:  # two classes: scikit-learn keeps one row, the logit of the second
            coef, intercept = np.vstack([np.zeros_like(coef), coef]), np.concatenate([[0.0], intercept])
        self.linear = torch.nn.Linear(coef.shape[1], coef.shape[0])
        with torch.no_grad():
            self.linear.weight.copy_(torch.from_numpy(coef).float())
            self.linear.bias.copy_(torch.from_numpy(intercept).float())

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.linear(pooled_features(self.backbone, pixels))


def densenet_gradcam(backbone: torch.nn.Module, head: Pipeline, photo: Image.Image, target: str | None = None,
                     image_size: int = IMAGE_SIZE) -> Explanation:
    """Grad-CAM of ``target`` (default: the predicted class) for the frozen backbone + fitted head."""
    network = DenseNetWithHead(backbone, head).eval()
    return gradcam(network, backbone.features, [str(c) for c in head.classes_], photo, target, image_size)


def gradcam(network: torch.nn.Module, layer: torch.nn.Module, classes: list[str], photo: Image.Image,
            target: str | None = None, image_size: int = IMAGE_SIZE) -> Explanation:
    """Grad-CAM on ``layer`` of a network giving class logits from ImageNet-normalised pixels: the raw
    map over the layer's cells of the squared photo (``core.explain.display`` lays it on the photo)."""
    pixels = imagenet_tensor([photo], image_size)
    with torch.no_grad():
        probabilities = torch.softmax(network(pixels), dim=1)[0].numpy()
    index = int(probabilities.argmax()) if target is None else classes.index(target)
    cam = LayerGradCam(network, layer).attribute(pixels, target=index, relu_attributions=True)
    return Explanation(target=classes[index], probabilities=dict(zip(classes, probabilities.tolist())),
                       photo_grid=cam[0, 0].detach().numpy(), words=[])


class GradCamAttributor(Attributor):
    """The DenseNet121 scenarios' relevance: Grad-CAM on the last feature block of the frozen backbone
    with the fitted head, or on the fine-tuned block's norm for the fine-tuned variant."""

    def _relevance(self, listings: Sequence[ListingInput], targets: list[str]) -> list[Explanation]:
        return [self._gradcam(listing.photo, target) for listing, target in zip(listings, targets)]

    def _gradcam(self, photo: Image.Image | None, target: str) -> Explanation:
        if photo is None:
            raise NoPhotoError()
        backbone = self.scenario.encoder().loaded.model
        if self.scenario.fine_tune:
            top = self.estimator.top_
            network = FineTunedNetwork(frozen_part(backbone), top).eval()
            return gradcam(network, top.norm, self.classes, photo, target, self.scenario.image_size)
        head = getattr(self.estimator, "estimator_", self.estimator)  # the mirror-augmented head's own
        return densenet_gradcam(backbone, head, photo, target, self.scenario.image_size)
