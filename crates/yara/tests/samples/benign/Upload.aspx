<%@ Page Language="C#" AutoEventWireup="true" %>
<%@ Import Namespace="System.IO" %>
<%@ Import Namespace="System.Security.Cryptography" %>
<script runat="server">
    // Stores an uploaded attachment and records its SHA-256.
    protected void Upload_Click(object sender, EventArgs e) {
        var file = Request.Files["attachment"];
        if (file == null || file.ContentLength == 0) return;
        string name = Path.GetFileName(file.FileName);
        using (var sha = SHA256.Create()) {
            byte[] hash = sha.ComputeHash(file.InputStream);
            Status.Text = "Stored " + Server.HtmlEncode(name) + " " + Convert.ToBase64String(hash);
        }
        var version = typeof(Page).Assembly.GetName().Version;
        file.SaveAs(Server.MapPath("~/App_Data/uploads/") + name);
    }
</script>
<form runat="server"><asp:FileUpload ID="attachment" runat="server" /><asp:Button runat="server" OnClick="Upload_Click" Text="Upload" /><asp:Label ID="Status" runat="server" /></form>
