"""Why CLIP decided: gradient-weighted attention relevance (Chefer, Gur & Wolf 2021) for the photo
patches and the description's words, from one forward and one backward pass.

The class score is the logit the scenario itself computes: the logistic regression on the
normalised, concatenated embeddings for clip_a / clip_b, the scaled cosine to the class prompts for
zero-shot. Its gradient with respect to every layer's attention probabilities of both encoders
comes from a single autograd call.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from core.clip_tokenizer import CONTEXT_LENGTH
from core.embeddings.clip_embedder import clip_pixels
from core.embeddings.clip_forward import image_features, text_features
from core.explain.base import Explainer
from core.explain.explanation import Explanation, WordRelevance, resolve_target
from core.explain.heatmaps import scale_to_unit
from core.images import to_square
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


def relevance_rollout(attentions: tuple[torch.Tensor, ...], gradients: tuple[torch.Tensor, ...]) -> torch.Tensor:
    """R = I; for each layer R += mean_heads(max(grad * attention, 0)) @ R (batch of one)."""
    size = attentions[0].shape[-1]
    relevance = torch.eye(size)
    for attention, gradient in zip(attentions, gradients):
        layer = (gradient * attention).clamp(min=0).mean(dim=1)[0]
        relevance = relevance + layer @ relevance
    return relevance


@dataclass
class _Pass:
    """One forward pass with attentions kept for the backward pass."""

    logits: torch.Tensor
    vision_attentions: tuple[torch.Tensor, ...]
    text_attentions: tuple[torch.Tensor, ...]
    input_ids: list[int]
    offsets: list[tuple[int, int]]


class ClipRelevance:
    """Gradient-weighted relevance of a CLIP model with a class head (its text preparation given)."""

    def __init__(self, model, processor, head: ClassHead, prepare_text):
        model.set_attn_implementation("eager")  # attention probabilities are needed as tensors
        self.model = model.eval()
        self.processor = processor
        self.head = head
        self.prepare_text = prepare_text

    def pixels(self, photo: Image.Image) -> torch.Tensor:
        """The model input for a photo, prepared exactly as for embedding."""
        return clip_pixels(self.processor.image_processor, [photo])

    @torch.no_grad()
    def image_embedding(self, pixels: torch.Tensor) -> torch.Tensor:
        return image_features(self.model, pixels)

    @torch.no_grad()
    def text_embedding(self, model_texts: list[str]) -> torch.Tensor:
        tokens = self.processor.tokenizer(model_texts, padding=True, truncation=True, max_length=CONTEXT_LENGTH,
                                          return_tensors="pt")
        return text_features(self.model, tokens["input_ids"])

    def _forward(self, photo: Image.Image | None, model_text: str) -> _Pass:
        tokens = self.processor.tokenizer(model_text, truncation=True, max_length=CONTEXT_LENGTH,
                                          return_offsets_mapping=True)
        input_ids = torch.tensor([tokens["input_ids"]])
        text_out = self.model.text_model(input_ids=input_ids, output_attentions=True)
        text = self.model.text_projection(text_out.pooler_output)
        image, vision_attentions = None, ()
        if photo is not None:
            vision_out = self.model.vision_model(pixel_values=self.pixels(photo), output_attentions=True)
            image, vision_attentions = self.model.visual_projection(vision_out.pooler_output), vision_out.attentions
        return _Pass(self.head(image, text), tuple(vision_attentions), tuple(text_out.attentions),
                     tokens["input_ids"], tokens["offset_mapping"])

    def relevance(self, photo: Image.Image | None, description: str, target: str | None = None,
                  per_layer_gradients: bool = False) -> Explanation:
        """Relevance of the photo's patches and the description's words for ``target`` (default:
        the predicted class), with this model's probabilities. ``per_layer_gradients`` asks autograd
        once per layer instead of once for all (the naive way, kept to measure against)."""
        model_text, spans = words_in(description, self.prepare_text)
        with torch.enable_grad():
            run = self._forward(photo, model_text)
            probabilities = dict(zip(self.head.classes, torch.softmax(run.logits, dim=1)[0].tolist()))
            index = self.head.classes.index(resolve_target(target, probabilities))
            score = run.logits[0, index]
            attentions = run.vision_attentions + run.text_attentions
            if per_layer_gradients:
                gradients = tuple(torch.autograd.grad(score, a, retain_graph=True)[0] for a in attentions)
            else:
                gradients = torch.autograd.grad(score, attentions)
        vision_count = len(run.vision_attentions)
        with torch.no_grad():
            photo_map, grid = None, None
            if photo is not None:
                grid = _patch_grid(relevance_rollout(run.vision_attentions, gradients[:vision_count]))
                photo_map = scale_to_unit(to_square(photo)[1].to_original(grid))
            token_relevance = _eos_row(relevance_rollout(run.text_attentions, gradients[vision_count:]),
                                       run.input_ids, self.processor.tokenizer.eos_token_id)
        words = merge_onto_words(description, spans, token_relevance, run.offsets)
        return Explanation(self.head.classes[index], probabilities, photo_map, words, grid)


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


class ClipExplainer(Explainer):
    """The CLIP scenarios' explanations: their fitted head on the fp32 model, relevance by ``ClipRelevance``.

    The fast scenarios classify with an int8 copy, which has no gradients: relevance is then computed on
    the fp32 model of the same weights, and the explanation says so where the two disagree."""

    def __init__(self, scenario, estimator):
        super().__init__(scenario, estimator)
        loaded = scenario.embedder().loaded  # the fp32 model, shared with the embedder
        self.engine = ClipRelevance(loaded.model, loaded.processor, ClassHead.from_estimator(estimator),
                                    scenario.prepare_text)
        if scenario.fast:
            self.attributed_model = "the exact (fp32) copy of the int8 model"

    def attribute(self, photo: Image.Image | None, name: str, description: str, target: str,
                  specifications: str = "") -> Explanation:
        return self.engine.relevance(photo, description, target)
