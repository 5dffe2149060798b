module ferrite.test/wasiguest

go 1.24
