"""Hits -> Answer: the ``Answerer`` protocol (``protocol``) and its two answerers, the offline
extractive one (``extractive`` and its steps) and the LLM one (``llm``)."""

from .extractive import ExtractiveAnswerer, Reading
from .frame import Part, QuestionFrame, QuestionReader
from .llm import LLMAnswerer
from .model import AnswerModel, load_model
from .protocol import Answerer, StreamingAnswerer
from .slots import Slot, load_cues

__all__ = ["Answerer", "StreamingAnswerer", "ExtractiveAnswerer", "LLMAnswerer", "Reading", "Part", "QuestionFrame",
           "QuestionReader", "AnswerModel", "load_model", "Slot", "load_cues"]
