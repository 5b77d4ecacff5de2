"""The knowledge page: every topic's facts with their sources and flags, edited by staff with a
source, validated, recorded with a note and live on every action server within seconds."""
