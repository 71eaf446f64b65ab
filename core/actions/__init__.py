"""The floor for what users do: one action per job (classify a batch or an upload, explain listings, find
likely label errors, apply the operators' corrections, compare how the scenarios' features cluster), each a
plain function or small class over explicit inputs and the workspace (``core.workspace``: where results,
caches, reviews and data versions live). The command line, the pages and any later adapter parse what the
user gave, call one action and show its result; nothing below this package imports it."""
