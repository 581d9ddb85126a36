"""GPU model names as one spelling: what nvidia-smi prints, what people type and what the
tables list ("NVIDIA A100-SXM4-40GB", "a100 sxm4 40gb") compare equal after `normalize`.

In core because two stages spell names the same way: compat's lookup and the data refresh that
writes one row per spelling the lookup tells apart.
"""

from __future__ import annotations

import re

# Vendor/brand words nvidia-smi and people add or drop freely ("NVIDIA", "Tesla T4").
_DROP_WORDS = ("nvidia", "tesla", "geforce", "hgx")
_NOISE_WORDS = ("blackwell", "generation")
# Form-factor suffixes nvidia-smi prints for notebook parts ("RTX 3050 Laptop GPU", "RTX 2070
# with Max-Q Design"): the same chip generation, so the same compute capability.
_FORM_FACTOR = re.compile(r"\s+(?:laptop(?: gpu)?|mobile|(?:with )?max q(?: design)?|max p)$")

def normalize(name: str) -> str:
    text = re.sub(r"[\s_\-]+", " ", name.strip().lower())
    words = [w for w in text.split(" ") if w]
    while words and words[0] in _DROP_WORDS:
        words = words[1:]
    # The architecture word RTX PRO names carry or drop ("RTX PRO 6000 Blackwell Server Edition",
    # "RTX PRO 6000 Server Edition") and Ada's "Generation" say nothing the number does not.
    text = " ".join(w for w in words if w not in _NOISE_WORDS)
    while True:
        stripped = _FORM_FACTOR.sub("", text)
        if stripped == text:
            return text
        text = stripped
