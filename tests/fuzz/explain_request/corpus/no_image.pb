
empty" 