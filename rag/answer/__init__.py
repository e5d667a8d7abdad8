"""Hits -> Answer, offline: the extractive answerer and its steps (see ``extractive``)."""

from .extractive import ExtractiveAnswerer, Reading
from .frame import Part, QuestionFrame, QuestionReader
from .model import AnswerModel, load_model
from .slots import Slot, load_cues

__all__ = ["ExtractiveAnswerer", "Reading", "Part", "QuestionFrame", "QuestionReader", "AnswerModel", "load_model",
           "Slot", "load_cues"]
