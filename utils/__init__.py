"""Everything around the model, by stage, each importing only those below it (.importlinter):
run -> graph, outputs -> hooks -> data -> runtime."""
