"""site.yml as an AWX job: the credential type's injection and the job's private data directory.

injectors.py  what AWX does with a custom credential type: validate it, render its injectors
job.py        the private data directory AWX hands to ansible-runner, and the run itself
__main__.py   the lab test (lab/awx.sh): the job against the lab, checked through the emulator
"""
