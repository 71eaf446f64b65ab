"""Why CLIP decided: gradient-weighted attention relevance (Chefer, Gur & Wolf 2021) for the photo
patches and the description's words, from one forward and one backward pass.

The class score is the logit the scenario itself computes: the logistic regression on the
normalised, concatenated embeddings for clip_a / clip_b, the scaled cosine to the class prompts for
zero-shot. Its gradient with respect to every layer's attention probabilities of both encoders
comes from a single autograd call.
"""
from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from core.clip_tokenizer import CONTEXT_LENGTH
from core.embeddings.clip_embedder import clip_pixels
from core.embeddings.clip_forward import image_features, text_features
from core.explain.base import Attributor, ListingInput
from core.explain.explanation import Explanation, WordRelevance, resolve_target
from core.text import WordSpan, words_in


class ClassHead(torch.nn.Module):
    """Class logits from raw CLIP image and text embeddings, as a scenario computes them:
    ``image_weight @ image_n + text_weight @ text_n + bias`` on the L2-normalised embeddings
    (a missing photo contributes zeros, as in training)."""

    def __init__(self, image_weight: np.ndarray, text_weight: np.ndarray, bias: np.ndarray, classes: list[str]):
        super().__init__()
        self.classes = [str(c) for c in classes]
        self.image_weight = torch.nn.Parameter(torch.as_tensor(image_weight, dtype=torch.float32))
        self.text_weight = torch.nn.Parameter(torch.as_tensor(text_weight, dtype=torch.float32))
        self.bias = torch.nn.Parameter(torch.as_tensor(bias, dtype=torch.float32))

    @classmethod
    def from_estimator(cls, estimator) -> "ClassHead":
        """The head of a fitted clip_a / clip_b logistic regression or of the zero-shot classifier."""
        if hasattr(estimator, "class_embeddings"):  # zero-shot: scale * (cos(image, P) + cos(text, P))
            weight = estimator.logit_scale * estimator.class_embeddings
            return cls(weight, weight, np.zeros(len(estimator.classes_)), list(estimator.classes_))
        coef, intercept = np.asarray(estimator.coef_), np.asarray(estimator.intercept_)
        dimension = coef.shape[1] // 2
        return cls(coef[:, :dimension], coef[:, dimension:], intercept, list(estimator.classes_))

    def forward(self, image: torch.Tensor | None, text: torch.Tensor) -> torch.Tensor:
        logits = torch.nn.functional.normalize(text, dim=-1) @ self.text_weight.T + self.bias
        if image is not None:
            logits = logits + torch.nn.functional.normalize(image, dim=-1) @ self.image_weight.T
        return logits


def relevance_rollout(attentions: tuple[torch.Tensor, ...], gradients: tuple[torch.Tensor, ...],
                      item: int = 0) -> torch.Tensor:
    """R = I; for each layer R += mean_heads(max(grad * attention, 0)) @ R, for the batch's ``item``."""
    size = attentions[0].shape[-1]
    relevance = torch.eye(size)
    for attention, gradient in zip(attentions, gradients):
        layer = (gradient[item] * attention[item]).clamp(min=0).mean(dim=0)
        relevance = relevance + layer @ relevance
    return relevance


@dataclass
class _Pass:
    """One forward pass over a batch of listings, with attentions kept for the backward pass. Texts are
    padded after their end token: CLIP's causal mask keeps every real token blind to the padding, so a
    listing's relevance is the one it gets alone."""

    logits: torch.Tensor  # (listings, classes)
    vision_attentions: tuple[torch.Tensor, ...]  # (listings with a photo, heads, patches, patches) per layer
    text_attentions: tuple[torch.Tensor, ...]  # (listings, heads, tokens, tokens) per layer
    photo_rows: list[int]  # the listing each row of the vision attentions belongs to
    input_ids: list[list[int]]
    offsets: list[list[tuple[int, int]]]


class ClipRelevance:
    """Gradient-weighted relevance of a CLIP model with a class head (its text preparation given)."""

    def __init__(self, model, processor, head: ClassHead, prepare_text):
        model.set_attn_implementation("eager")  # attention probabilities are needed as tensors
        self.model = model.eval()
        self.processor = processor
        self.head = head
        self.prepare_text = prepare_text

    def pixels(self, photos: Image.Image | list[Image.Image]) -> torch.Tensor:
        """The model input for photos, prepared exactly as for embedding."""
        return clip_pixels(self.processor.image_processor, photos if isinstance(photos, list) else [photos])

    @torch.no_grad()
    def image_embedding(self, pixels: torch.Tensor) -> torch.Tensor:
        return image_features(self.model, pixels)

    @torch.no_grad()
    def text_embedding(self, model_texts: list[str]) -> torch.Tensor:
        tokens = self.processor.tokenizer(model_texts, padding=True, truncation=True, max_length=CONTEXT_LENGTH,
                                          return_tensors="pt")
        return text_features(self.model, tokens["input_ids"])

    def _forward(self, photos: list[Image.Image | None], model_texts: list[str]) -> _Pass:
        tokens = self.processor.tokenizer(model_texts, padding=True, truncation=True, max_length=CONTEXT_LENGTH,
                                          return_offsets_mapping=True)
        text_out = self.model.text_model(input_ids=torch.tensor(tokens["input_ids"]), output_attentions=True)
        logits = self.head(None, self.model.text_projection(text_out.pooler_output))
        photo_rows = [i for i, photo in enumerate(photos) if photo is not None]
        vision_attentions = ()
        if photo_rows:
            vision_out = self.model.vision_model(pixel_values=self.pixels([photos[i] for i in photo_rows]),
                                                 output_attentions=True)
            image = torch.nn.functional.normalize(self.model.visual_projection(vision_out.pooler_output), dim=-1)
            logits = logits.index_add(0, torch.tensor(photo_rows), image @ self.head.image_weight.T)
            vision_attentions = tuple(vision_out.attentions)
        return _Pass(logits, vision_attentions, tuple(text_out.attentions), photo_rows, tokens["input_ids"],
                     tokens["offset_mapping"])

    def relevance(self, listings: Sequence[tuple[Image.Image | None, str]], targets: Sequence[str | None] | None = None,
                  per_layer_gradients: bool = False) -> list[Explanation]:
        """Relevance of each listing's (photo or None, description) patches and words for its ``targets``
        entry (default: the predicted class), with this model's probabilities; the patch grid raw. One
        forward and one backward pass for all: the listings are independent, so the gradient of the sum
        of their class scores gives each its own gradients. ``per_layer_gradients`` asks autograd once per
        layer instead of once for all (the naive way, kept to measure against)."""
        targets = targets or [None] * len(listings)
        prepared = [words_in(description, self.prepare_text) for _, description in listings]
        with torch.enable_grad():
            run = self._forward([photo for photo, _ in listings], [model_text for model_text, _ in prepared])
            probabilities = [dict(zip(self.head.classes, row)) for row in torch.softmax(run.logits, dim=1).tolist()]
            indices = [self.head.classes.index(resolve_target(target, p)) for target, p in zip(targets, probabilities)]
            score = run.logits[torch.arange(len(listings)), torch.tensor(indices)].sum()
            attentions = run.vision_attentions + run.text_attentions
            if per_layer_gradients:
                gradients = tuple(torch.autograd.grad(score, a, retain_graph=True)[0] for a in attentions)
            else:
                gradients = torch.autograd.grad(score, attentions)
        vision_count = len(run.vision_attentions)
        explanations = []
        with torch.no_grad():
            for item, ((photo, description), (_, spans)) in enumerate(zip(listings, prepared)):
                grid = None
                if photo is not None:
                    row = run.photo_rows.index(item)
                    grid = _patch_grid(relevance_rollout(run.vision_attentions, gradients[:vision_count], row))
                token_relevance = _eos_row(relevance_rollout(run.text_attentions, gradients[vision_count:], item),
                                           run.input_ids[item], self.processor.tokenizer.eos_token_id)
                words = merge_onto_words(description, spans, token_relevance, run.offsets[item])
                explanations.append(Explanation(self.head.classes[indices[item]], probabilities[item], grid, words))
        return explanations


def _patch_grid(relevance: torch.Tensor) -> np.ndarray:
    """The class token's row without its own column, as a square grid over the image patches."""
    row = relevance[0, 1:].numpy()
    side = int(round(np.sqrt(row.size)))
    return row.reshape(side, side)


def _eos_row(relevance: torch.Tensor, input_ids: list[int], eos_id: int) -> np.ndarray:
    """Relevance of each token at the end-of-text position (where CLIP pools), for the real
    tokens between start and end; the special tokens get 0."""
    eos = input_ids.index(eos_id, 1)
    values = np.zeros(len(input_ids), np.float32)
    values[1:eos] = relevance[eos, 1:eos].numpy()
    return values


def word_order(words: list[WordRelevance]) -> np.ndarray:
    """Indices of the words the model saw, most relevant first."""
    seen = np.flatnonzero([w.seen for w in words])
    shares = np.array([w.score for w in words])
    return seen[np.argsort(-shares[seen], kind="stable")] if len(seen) else seen


def merge_onto_words(description: str, spans: list[WordSpan], token_relevance: np.ndarray,
                     offsets: list[tuple[int, int]]) -> list[WordRelevance]:
    """BPE pieces' relevance summed onto the words they belong to, normalised to sum 1 over the
    words the model saw. Pieces outside any word (punctuation, emoji) count for no word."""
    starts = [span.model_start for span in spans]
    totals = np.zeros(len(spans))
    seen_until = max((end for start, end in offsets if end > start), default=0)
    for value, (start, end) in zip(token_relevance, offsets):
        if end <= start:
            continue  # special tokens
        i = bisect.bisect_right(starts, start) - 1
        if i >= 0 and start < spans[i].model_end:
            totals[i] += value
    total = totals.sum()
    shares = totals / total if total > 0 else totals
    return [WordRelevance(description[s.start:s.end], s.start, s.end, float(share), s.model_start < seen_until)
            for s, share in zip(spans, shares)]


class ClipAttributor(Attributor):
    """The CLIP scenarios' relevance: their fitted head on the fp32 model, relevance by ``ClipRelevance``.

    The fast scenarios classify with an int8 copy, which has no gradients: relevance is then computed on
    the fp32 model of the same weights, and the explanation says so where the two disagree."""

    def __init__(self, scenario, estimator):
        super().__init__(scenario, estimator)
        loaded = scenario.embedder().loaded  # the fp32 model, shared with the embedder
        self.engine = ClipRelevance(loaded.model, loaded.processor, ClassHead.from_estimator(estimator),
                                    scenario.prepare_text)
        if scenario.fast:
            self.attributed_model = "the exact (fp32) copy of the int8 model"

    def _relevance(self, listings: Sequence[ListingInput], targets: list[str]) -> list[Explanation]:
        return self.engine.relevance([(listing.photo, listing.description) for listing in listings], targets)
