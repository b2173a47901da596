"""Example bots: `WACLOUD_BOT=wacloud.conversation.examples.<module>:bot`."""
