"""Answers from ranked passages: the extractive answerer and abstention, the scope cues,
Markdown export, and the feedback users give on answers.
"""
