module example.com/tinybin

go 1.26
