# A script without its #! line, which would name the program that runs it:
# the book shows what a step says when asked to run it.
echo "never printed"
