"""Inference engines other than transformers' own ``generate``, per step.

- ``ct2``: CTranslate2 (int8 on CPU, int8_float16/float16 on a GPU) for the
  generation and seq2seq models it converts: Llama-family (SmolLM2), GPT-2, BART,
  Marian. Models are converted once into the models directory (``convert``).
- ``openai_compat``: any OpenAI-compatible chat-completions server (vLLM, TGI, Ollama,
  llama.cpp's server, a hosted endpoint) for the text-to-text steps.

Importing this package loads neither torch, transformers nor ctranslate2.
"""
