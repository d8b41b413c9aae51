"""The law as text: canonical refs, provisions by ref and date, application dates.

``refs`` parses and formats citations, ``library`` holds every version of every provision
in memory, ``dates`` reads when each provision applies from Articles 113 and 111.
"""
