#!/no/such/interpreter
# A script whose interpreter does not exist: the book shows what a step says
# when asked to run it.
echo "never printed"
