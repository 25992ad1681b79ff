"""One parser per layout family (see /work/shared/DESIGN.md, "Layouts seen in the seeds").

Each takes the lines of one report unit and returns what that layout can say about the project; the rule
extractor (service.extraction.rules) decides which parser applies from the unit's content.
"""
