"""Conversations: the rules file (`rules`) and the Python interface for bots (`bot`)."""

from wacloud.conversation.bot import Bot, Conversation

__all__ = ["Bot", "Conversation"]
