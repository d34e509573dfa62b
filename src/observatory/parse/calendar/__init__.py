"""The pieces of the iCalendar parser, ``observatory.parse.ics``."""
